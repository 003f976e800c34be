using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Punchhole.Secure.Handshake;
using Punchhole.Secure.Records;

namespace Punchhole.Secure.Mux;

/// <summary>
/// Many streams over one authenticated, encrypted connection. Either side opens streams (the
/// first party odd ids, the second even ones) and accepts the other's. One reader loop opens
/// records and hands each frame to its stream without ever waiting on a stream's consumer; one
/// writer loop packs the frames every stream queues into records, taking the streams in turn.
/// </summary>
/// <remarks>
/// The session ends cleanly when each side has sent its final record, whose last frame is
/// GOAWAY: a side sends it once all its streams finished both ways (after <see cref="CloseAsync"/>,
/// or at once after the peer's final record). A connection that ends any other way is reported
/// as an error: "the transfer ended early", tampering, or the peer's abort.
/// </remarks>
internal sealed class MuxSession : IAsyncDisposable
{
    /// <summary>The credit each side grants per stream at its opening: what one stream may have in flight.</summary>
    public const long InitialWindow = 1024 * 1024;

    /// <summary>The most credit a window update may raise a stream to.</summary>
    public const long MaxCredit = 16 * InitialWindow;

    /// <summary>The most streams the peer may have open at once; more are reset at once.</summary>
    public const int MaxStreams = 256;

    /// <summary>Reading grants credit back in steps of this size, not per read.</summary>
    internal const long GrantStep = InitialWindow / 4;

    private const int FlushThreshold = 256 * 1024;

    /// <summary>Below this much room left in a record, data starts a new one instead.</summary>
    private const int MinDataRoom = 4096;

    private readonly Transport _transport;
    private readonly RecordReader _records;
    private readonly RecordWriter _recordWriter;
    private readonly CipherNegotiation _cipher;
    private readonly Channel<WriterItem> _writerQueue = Channel.CreateUnbounded<WriterItem>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Channel<MuxStream> _accepted = Channel.CreateUnbounded<MuxStream>();
    private readonly object _gate = new();
    private readonly Dictionary<uint, MuxStream> _streams = [];

    /// <summary>The streams that got data from the record being dispatched (reader loop only).</summary>
    private readonly List<MuxStream> _fed = [];
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _reader;
    private readonly Task _writer;

    // Under _gate.
    private uint _nextLocalId;
    private uint _lastRemoteId;
    private int _remoteOpen;
    private bool _closing;
    private bool _finalQueued;
    private bool _finalSent;
    private bool _peerFinished;
    private Exception? _fault;

    private MuxSession(Transport transport, SessionKeys keys)
    {
        _transport = transport;
        Role = keys.Role;
        _nextLocalId = Role == HandshakeRole.First ? 1u : 2u;
        _records = new RecordReader(transport.Input, keys.ReceiveKey);
        _recordWriter = new RecordWriter(transport.Output, keys.SendKey);
        _cipher = new CipherNegotiation(keys);
        _reader = Task.Run(ReadLoopAsync);
        _writer = Task.Run(WriteLoopAsync);
    }

    /// <summary>This side's role from the handshake; it decides the parity of the ids this side opens.</summary>
    public HandshakeRole Role { get; }

    /// <summary>The cipher of the records this side sends next (the writer's view: it may change at any time).</summary>
    internal CipherSuite SendSuite => _recordWriter.Suite;

    /// <summary>The cipher of the records this side opens next (the reader's view: it may change at any time).</summary>
    internal CipherSuite ReceiveSuite => _records.Suite;

    /// <summary>
    /// Completes when both sides sent their final record and the connection is closed; faults with
    /// a <see cref="SecureChannelException"/> otherwise: tampering, an early end, the peer's abort,
    /// or this side's own <see cref="AbortAsync"/> or dispose (<see cref="SecureFailure.Closed"/>).
    /// </summary>
    public Task Completion => _completion.Task;

    /// <summary>Starts the session over an authenticated transport with the handshake's keys.</summary>
    public static MuxSession Start(Transport transport, SessionKeys keys) => new(transport, keys);

    /// <summary>Opens a stream; the peer's <see cref="AcceptStreamAsync"/> returns it.</summary>
    /// <exception cref="SecureChannelException">The session failed or is closing.</exception>
    public MuxStream OpenStream()
    {
        MuxStream stream;
        lock (_gate)
        {
            ThrowIfUnusable();
            if (_streams.Count - _remoteOpen >= MaxStreams)
            {
                throw new SecureChannelException(SecureFailure.Closed, $"too many streams open at once (at most {MaxStreams})");
            }
            stream = new MuxStream(this, _nextLocalId);
            _streams.Add(stream.Id, stream);
            _nextLocalId = checked(_nextLocalId + 2);
        }
        QueueFrame(FrameType.Open, stream.Id);
        return stream;
    }

    /// <summary>The next stream the peer opened, or null once the peer ended the session.</summary>
    /// <exception cref="SecureChannelException">The session failed.</exception>
    public async ValueTask<MuxStream?> AcceptStreamAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            while (await _accepted.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                if (_accepted.Reader.TryRead(out var stream))
                {
                    return stream;
                }
            }
            return null;
        }
        catch (ChannelClosedException e) when (e.InnerException is not null)
        {
            throw e.InnerException;
        }
    }

    /// <summary>
    /// Ends the session cleanly: no new streams; once every open stream has finished both ways,
    /// the final record goes out; completes when the peer's final record has arrived too.
    /// </summary>
    public Task CloseAsync(CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            _closing = true;
            QueueFinalIfIdle();
        }
        return Completion.WaitAsync(cancellationToken);
    }

    /// <summary>
    /// Ends the session because this side was interrupted (Ctrl-C): cleanly, as <see cref="CloseAsync"/>,
    /// when no stream is open, so that the peer ends without an error; otherwise as
    /// <see cref="AbortAsync"/>, so that the peer reports that this side stopped early.
    /// </summary>
    /// <param name="wait">How long a clean end waits for the peer's final record.</param>
    public async Task<InterruptedEnd> InterruptAsync(TimeSpan wait)
    {
        bool idle;
        lock (_gate)
        {
            idle = _fault is null && !_finalQueued && _streams.Count == 0;
            if (idle)
            {
                _closing = true;
                QueueFinalIfIdle();
            }
        }
        if (!idle)
        {
            return await AbortAsync().ConfigureAwait(false) ? InterruptedEnd.Aborted : InterruptedEnd.Broken;
        }
        try
        {
            await Completion.WaitAsync(wait).ConfigureAwait(false);
            return InterruptedEnd.Clean;
        }
        catch (TimeoutException)
        {
            Fail(new SecureChannelException(SecureFailure.Closed, "the session was stopped by this side"));
            return InterruptedEnd.Unconfirmed;
        }
        catch (SecureChannelException)
        {
            return InterruptedEnd.Broken;
        }
    }

    /// <summary>
    /// Stops at once: every stream fails, and the peer gets an authenticated "aborted" end
    /// (within a second at most) instead of a connection that merely breaks. True when that end
    /// was sent; false when the session had failed already or the peer did not take it in time.
    /// </summary>
    public async Task<bool> AbortAsync()
    {
        var stopped = new SecureChannelException(SecureFailure.Closed, "the session was stopped by this side");
        bool queue;
        List<MuxStream> open;
        lock (_gate)
        {
            queue = !_finalQueued && _fault is null;
            _finalQueued = true;
            _closing = true;
            open = [.. _streams.Values];
            _streams.Clear();
        }
        // The streams first, so that their queued data is dropped rather than sent before the abort.
        foreach (var stream in open)
        {
            stream.Fault(stopped);
        }
        bool sent = false;
        if (queue)
        {
            _writerQueue.Writer.TryWrite(WriterItem.Final(GoAwayCode.Aborted));
            try
            {
                await _writer.WaitAsync(TimeSpan.FromSeconds(1)).ConfigureAwait(false);
                lock (_gate)
                {
                    sent = _finalSent;
                }
            }
            catch (TimeoutException)
            {
                // The peer does not read: it will see the connection break instead.
            }
        }
        if (sent)
        {
            // The authenticated end is out: the FIN after it cannot pass for anything else, and a
            // reset could drop the record while it still waits in the send buffer.
            _transport.PreferGracefulClose();
        }
        Fail(stopped);
        await ((Task)Completion).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        return sent;
    }

    /// <summary>Closes the connection at once if the session did not end; the peer sees an early end.</summary>
    public async ValueTask DisposeAsync()
    {
        Fail(new SecureChannelException(SecureFailure.Closed, "the session was closed by this side"));
        await Task.WhenAll(_reader, _writer).ConfigureAwait(false);
        await ((Task)Completion).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _records.Dispose();
        _recordWriter.Dispose();
        _cipher.Dispose();
        _stop.Dispose();
    }

    // ---- Used by the streams. ----

    internal void QueueData(MuxStream stream) => _writerQueue.Writer.TryWrite(WriterItem.Data(stream));

    internal void QueueFrame(FrameType type, uint streamId, uint? value = null) =>
        _writerQueue.Writer.TryWrite(WriterItem.Frame(type, streamId, value));

    internal void QueueFin(MuxStream stream) => _writerQueue.Writer.TryWrite(WriterItem.Fin(stream));

    /// <summary>The stream was reset: it no longer takes frames.</summary>
    internal void Forget(MuxStream stream)
    {
        lock (_gate)
        {
            if (_streams.Remove(stream.Id) && !IsLocal(stream.Id))
            {
                _remoteOpen--;
            }
            QueueFinalIfIdle();
        }
    }

    // ---- The reader loop. ----

    private async Task ReadLoopAsync()
    {
        try
        {
            while (true)
            {
                var record = await _records.ReadAsync(_stop.Token).ConfigureAwait(false);
                if (_cipher.OnRecord(record, _records, out bool sendSwitch))
                {
                    if (sendSwitch)
                    {
                        _writerQueue.Writer.TryWrite(WriterItem.SwitchCipher);
                    }
                    // A cipher signal can end a batch too: data read just before it must not wait for a later record.
                    HandOnUnlessMoreBuffered(record.Final);
                    continue;
                }
                try
                {
                    Dispatch(record.Plaintext.Span, record.Final);
                }
                catch
                {
                    // Whatever was dispatched before the failure still reaches its readers.
                    HandOn();
                    throw;
                }
                HandOnUnlessMoreBuffered(record.Final);
                if (record.Final)
                {
                    break;
                }
            }
            OnPeerFinished();
        }
        catch (Exception e)
        {
            Fail(e);
        }
    }

    /// <summary>
    /// The streams' readers are woken once per batch of records read together from the connection
    /// rather than per record (fewer thread hops, larger reads), so a batch ends at the last record
    /// already buffered, whatever its kind. A record's data and its FIN still reach the reader together.
    /// </summary>
    private void HandOnUnlessMoreBuffered(bool final)
    {
        if (final || !_records.NextIsBuffered)
        {
            HandOn();
        }
    }

    private void HandOn()
    {
        foreach (var stream in _fed)
        {
            stream.FlushIncoming();
        }
        _fed.Clear();
    }

    private void Dispatch(ReadOnlySpan<byte> plaintext, bool final)
    {
        while (!plaintext.IsEmpty)
        {
            if (!MuxFrame.TryRead(plaintext, out var frame, out int length))
            {
                throw SecureChannelException.Violation("a partial frame");
            }
            plaintext = plaintext[length..];
            if (frame.Type == FrameType.GoAway)
            {
                if (!final || !plaintext.IsEmpty || frame.StreamId != 0 || frame.Payload.Length != 4)
                {
                    throw SecureChannelException.Violation("GOAWAY anywhere but at the end of the final record");
                }
                if ((GoAwayCode)frame.Value != GoAwayCode.Done)
                {
                    throw new SecureChannelException(SecureFailure.PeerAborted, "the other side stopped before the transfer finished");
                }
                return;
            }
            Handle(frame);
        }
        if (final)
        {
            throw SecureChannelException.Violation("a final record without GOAWAY");
        }
    }

    private void Handle(MuxFrame frame)
    {
        uint id = frame.StreamId;
        if (id == 0)
        {
            throw SecureChannelException.Violation($"frame type {(byte)frame.Type} on stream 0");
        }
        if (frame.Type == FrameType.Open)
        {
            Accept(id, frame.Payload.Length);
            return;
        }
        MuxStream? stream;
        lock (_gate)
        {
            if (!_streams.TryGetValue(id, out stream) && !WasOpened(id))
            {
                throw SecureChannelException.Violation($"a frame for stream {id}, which was never opened");
            }
        }
        if (stream is null)
        {
            // A stream closed on this side: frames the peer sent before it learnt so are dropped.
            return;
        }
        switch (frame.Type)
        {
            case FrameType.Data when !frame.Payload.IsEmpty:
                stream.OnData(frame.Payload);
                if (!_fed.Contains(stream))
                {
                    _fed.Add(stream);
                }
                break;
            case FrameType.Fin when frame.Payload.IsEmpty:
                if (stream.OnFin())
                {
                    Forget(stream);
                }
                break;
            case FrameType.Reset when frame.Payload.IsEmpty:
                stream.OnReset();
                Forget(stream);
                break;
            case FrameType.Window when frame.Payload.Length == 4:
                stream.OnWindow(frame.Value);
                break;
            default:
                throw SecureChannelException.Violation($"a malformed frame of type {(byte)frame.Type}");
        }
    }

    private void Accept(uint id, int payloadLength)
    {
        MuxStream? stream = null;
        bool refuse = false;
        lock (_gate)
        {
            if (payloadLength != 0 || IsLocal(id) || id <= _lastRemoteId)
            {
                throw SecureChannelException.Violation($"an invalid opening of stream {id}");
            }
            _lastRemoteId = id;
            if (_closing || _remoteOpen >= MaxStreams)
            {
                refuse = true;
            }
            else
            {
                stream = new MuxStream(this, id);
                _streams.Add(id, stream);
                _remoteOpen++;
            }
        }
        if (refuse)
        {
            QueueFrame(FrameType.Reset, id);
            return;
        }
        _accepted.Writer.TryWrite(stream!);
    }

    private void OnPeerFinished()
    {
        List<MuxStream> open;
        lock (_gate)
        {
            _peerFinished = true;
            _closing = true;
            open = [.. _streams.Values];
            _streams.Clear();
            _remoteOpen = 0;
        }
        _accepted.Writer.TryComplete();
        // The peer only ends when every stream finished both ways; one that did not was opened
        // here while the peer was already ending.
        foreach (var stream in open)
        {
            stream.Fault(new SecureChannelException(SecureFailure.StreamReset, "the other side ended the session before this stream finished"));
        }
        lock (_gate)
        {
            QueueFinalIfIdle();
            CompleteIfDone();
        }
    }

    // ---- The writer loop. ----

    private async Task WriteLoopAsync()
    {
        var batch = new RecordBatch(_recordWriter);
        try
        {
            if (_cipher.WriteOffer(_recordWriter) > 0)
            {
                await _recordWriter.FlushAsync(_stop.Token).ConfigureAwait(false);
            }
            var queue = _writerQueue.Reader;
            while (await queue.WaitToReadAsync(_stop.Token).ConfigureAwait(false))
            {
                while (queue.TryRead(out var item))
                {
                    switch (item.Kind)
                    {
                        case WriterItemKind.Final:
                            batch.Add(FrameType.GoAway, 0, (uint)item.Code);
                            batch.Seal(final: true);
                            await _recordWriter.FlushAsync(_stop.Token).ConfigureAwait(false);
                            OnFinalSent();
                            return;
                        case WriterItemKind.Data:
                            batch.AddData(item.Stream!, out bool again, out bool fin);
                            if (again)
                            {
                                _writerQueue.Writer.TryWrite(item);
                            }
                            if (fin)
                            {
                                AddFin(batch, item.Stream!);
                            }
                            break;
                        case WriterItemKind.Fin:
                            AddFin(batch, item.Stream!);
                            break;
                        case WriterItemKind.SwitchCipher:
                            batch.SwitchCipher(_cipher);
                            break;
                        default:
                            batch.Add(item.Type, item.StreamId, item.Value);
                            break;
                    }
                    if (batch.Unflushed >= FlushThreshold)
                    {
                        await batch.FlushAsync(_stop.Token).ConfigureAwait(false);
                    }
                }
                batch.Seal(final: false);
                await batch.FlushAsync(_stop.Token).ConfigureAwait(false);
            }
        }
        catch (Exception e)
        {
            Fail(e);
        }
    }

    private void AddFin(RecordBatch batch, MuxStream stream)
    {
        batch.Add(FrameType.Fin, stream.Id, null);
        if (stream.OnFinSent())
        {
            Forget(stream);
        }
    }

    private void OnFinalSent()
    {
        lock (_gate)
        {
            _finalSent = true;
            CompleteIfDone();
        }
    }

    // ---- State. ----

    /// <summary>Queues the final record once closing and no stream is left. Under _gate.</summary>
    private void QueueFinalIfIdle()
    {
        if (_closing && !_finalQueued && _fault is null && _streams.Count == 0)
        {
            _finalQueued = true;
            _writerQueue.Writer.TryWrite(WriterItem.Final(GoAwayCode.Done));
        }
    }

    /// <summary>Both final records went their way: close the connection and complete. Under _gate.</summary>
    private void CompleteIfDone()
    {
        if (_finalSent && _peerFinished && _fault is null)
        {
            _writerQueue.Writer.TryComplete();
            _ = FinishAsync();
        }
    }

    private async Task FinishAsync()
    {
        // Both authenticated ends are out: a FIN now, after our final record, rather than a
        // reset that could drop that record before the peer has it.
        _transport.PreferGracefulClose();
        await _transport.DisposeAsync().ConfigureAwait(false);
        _completion.TrySetResult();
    }

    /// <summary>The first failure wins: every stream and waiter gets it, and the connection closes.</summary>
    private void Fail(Exception error)
    {
        var failure = error as SecureChannelException
            ?? (error is OperationCanceledException
                ? new SecureChannelException(SecureFailure.Closed, "the session was closed")
                : new TransferEndedEarlyException(error.Message, error));
        List<MuxStream> open;
        lock (_gate)
        {
            if (_fault is not null || (_finalSent && _peerFinished))
            {
                return;
            }
            _fault = failure;
            open = [.. _streams.Values];
            _streams.Clear();
        }
        _stop.Cancel();
        _transport.Close();
        _writerQueue.Writer.TryComplete();
        _accepted.Writer.TryComplete(failure);
        foreach (var stream in open)
        {
            stream.Fault(failure);
        }
        _completion.TrySetException(failure);
    }

    private void ThrowIfUnusable()
    {
        if (_fault is not null)
        {
            throw _fault as SecureChannelException ?? new SecureChannelException(SecureFailure.Closed, "the session failed");
        }
        if (_closing)
        {
            throw new SecureChannelException(SecureFailure.Closed, "the session is closing: no new streams");
        }
    }

    private bool IsLocal(uint id) => (id & 1) == (Role == HandshakeRole.First ? 1u : 0u);

    /// <summary>True for an id some side has opened already (and which may have closed since).</summary>
    private bool WasOpened(uint id) => IsLocal(id) ? id < _nextLocalId : id <= _lastRemoteId;

    private enum WriterItemKind : byte
    {
        Frame,
        Data,
        Fin,
        Final,
        SwitchCipher,
    }

    /// <summary>What the writer loop is asked to do: send a control frame, a stream's data or FIN, or end.</summary>
    private readonly record struct WriterItem(WriterItemKind Kind, FrameType Type, uint StreamId, uint? Value, MuxStream? Stream, GoAwayCode Code)
    {
        public static WriterItem Frame(FrameType type, uint streamId, uint? value) => new(WriterItemKind.Frame, type, streamId, value, null, default);

        public static WriterItem Data(MuxStream stream) => new(WriterItemKind.Data, FrameType.Data, stream.Id, null, stream, default);

        public static WriterItem Fin(MuxStream stream) => new(WriterItemKind.Fin, FrameType.Fin, stream.Id, null, stream, default);

        public static WriterItem Final(GoAwayCode code) => new(WriterItemKind.Final, FrameType.GoAway, 0, null, null, code);

        public static WriterItem SwitchCipher => new(WriterItemKind.SwitchCipher, default, 0, null, null, default);
    }

    /// <summary>
    /// The record being filled, in the transport's own buffer: frames (and stream data, copied once
    /// from the writer's buffer) are appended until it is full or the queue runs dry, then it is
    /// sealed where it lies.
    /// </summary>
    private sealed class RecordBatch(RecordWriter writer)
    {
        private const int Capacity = RecordFormat.MaxPlaintextLength;

        private Memory<byte> _room;
        private int _used;

        public long Unflushed { get; private set; }

        public void Add(FrameType type, uint streamId, uint? value)
        {
            if (_used + MuxFrame.HeaderLength + (value.HasValue ? 4 : 0) > Capacity)
            {
                Seal(final: false);
            }
            _used += MuxFrame.Write(Room()[_used..], type, streamId, value);
        }

        public void AddData(MuxStream stream, out bool again, out bool fin)
        {
            if (Capacity - _used - MuxFrame.HeaderLength < MinDataRoom)
            {
                Seal(final: false);
            }
            var room = Room();
            // Room is kept for one empty frame after the data: the stream's FIN, when this chunk
            // ends its last write, goes in the same record.
            int n = stream.TakeChunk(room[(_used + MuxFrame.HeaderLength)..(Capacity - MuxFrame.HeaderLength)], out again, out fin);
            if (n == 0)
            {
                return;
            }
            MuxFrame.WriteHeader(room[_used..], FrameType.Data, stream.Id, n);
            _used += MuxFrame.HeaderLength + n;
            if (!fin && Capacity - _used - MuxFrame.HeaderLength < MinDataRoom)
            {
                Seal(final: false);
            }
        }

        /// <summary>Seals the open record, then the switch to AES-256-GCM in a record of its own.</summary>
        public void SwitchCipher(CipherNegotiation cipher)
        {
            Seal(final: false);
            // A record begun but left empty is given up: the signal takes its place in the buffer.
            _room = default;
            _used = 0;
            Unflushed += cipher.WriteSwitch(writer);
        }

        public void Seal(bool final)
        {
            if (_used == 0 && !final)
            {
                return;
            }
            Room();
            Unflushed += writer.EndRecord(_used, final);
            _room = default;
            _used = 0;
        }

        [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
        public async ValueTask FlushAsync(CancellationToken cancellationToken)
        {
            // A flush hands the pipe's buffers on: a record still open goes with them.
            Seal(final: false);
            _room = default;
            if (Unflushed == 0)
            {
                return;
            }
            Unflushed = 0;
            await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
        }

        /// <summary>The open record's plaintext room, begun in the pipe's buffer when there is none.</summary>
        private Span<byte> Room()
        {
            if (_room.IsEmpty)
            {
                _room = writer.BeginRecord();
                _used = 0;
            }
            return _room.Span[..Capacity];
        }
    }
}

/// <summary>How a session interrupted by this side ended (<see cref="MuxSession.InterruptAsync"/>).</summary>
internal enum InterruptedEnd
{
    /// <summary>No stream was open: both final records went their way, as in a normal end.</summary>
    Clean,

    /// <summary>No stream was open and our final record went out, but the peer's did not come in time.</summary>
    Unconfirmed,

    /// <summary>Streams were open: the peer was sent an authenticated "aborted" end.</summary>
    Aborted,

    /// <summary>The session had failed already, or the peer took nothing more: the connection is simply closed.</summary>
    Broken,
}
