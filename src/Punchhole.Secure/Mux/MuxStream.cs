using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;

namespace Punchhole.Secure.Mux;

/// <summary>
/// One multiplexed stream, as a <see cref="Stream"/>: bytes written go to the peer's stream of
/// the same id, bytes read come from it. <see cref="CompleteWrites"/> half-closes (FIN), reading
/// returns 0 at the peer's FIN, <see cref="Reset"/> aborts both directions. Disposing a stream that
/// did not finish both ways resets it.
/// </summary>
/// <remarks>
/// Receiving: the session's reader copies DATA into an unbounded pipe and never waits; the peer
/// may only send as much as this side has granted (the window), so the pipe holds at most one
/// window. Reading grants the credit back in WINDOW frames.
/// Sending: a write waits for credit, and the session's writer copies it into records chunk by
/// chunk, taking turns with the other streams.
/// </remarks>
internal sealed class MuxStream : Stream, IValueTaskSource
{
    private readonly MuxSession _session;
    private readonly object _gate = new();
    private readonly Pipe _incoming;

    // Receiving, under _gate.
    private long _receiveCredit = MuxSession.InitialWindow;
    private long _consumedSinceGrant;
    private long _grantStep = MuxSession.GrantStep;
    private bool _remoteFinished;
    private bool _unflushed;
    private Exception? _readError;
    private volatile bool _endIsNext;

    // Sending, under _gate.
    private long _sendCredit = MuxSession.InitialWindow;
    private ReadOnlyMemory<byte> _pending;
    private bool _writing;
    private bool _queued;
    private bool _finQueued;
    private bool _finWithWrite;
    private bool _finSent;
    private Exception? _writeError;
    private ManualResetValueTaskSourceCore<bool> _writeDone = new() { RunContinuationsAsynchronously = true };
    private CancellationTokenRegistration _writeCancellation;

    private bool _closed;
    private bool _disposed;

    internal MuxStream(MuxSession session, uint id)
    {
        _session = session;
        Id = id;
        // Record-sized segments: a full window is a dozen or so pooled arrays, which the shared
        // pool keeps, where 4 KiB segments would be hundreds and miss it.
        _incoming = new Pipe(new PipeOptions(
            pauseWriterThreshold: 0, resumeWriterThreshold: 0, minimumSegmentSize: Records.RecordFormat.MaxPlaintextLength, useSynchronizationContext: false));
    }

    /// <summary>
    /// A write of this size fills four records exactly (each record's data room is its plaintext
    /// less a DATA frame header and the room kept for a FIN): fewer handoffs to the session's
    /// writer, and no small record for a remainder.
    /// </summary>
    public const int PreferredWriteSize = 4 * (Records.RecordFormat.MaxPlaintextLength - 2 * MuxFrame.HeaderLength);

    /// <summary>The stream id: odd when the session's first party opened it, even for the second.</summary>
    public uint Id { get; }

    public override bool CanRead => true;

    public override bool CanWrite => true;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    /// <summary>Reads up to <paramref name="buffer"/>.Length bytes; 0 once the peer half-closed and everything was read.</summary>
    /// <exception cref="SecureChannelException">The stream was reset, or the session failed; data received before is read first.</exception>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (buffer.IsEmpty)
        {
            return 0;
        }
        while (true)
        {
            var result = await _incoming.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            var data = result.Buffer;
            if (!data.IsEmpty)
            {
                int n = (int)Math.Min(data.Length, buffer.Length);
                // Before AdvanceTo: once it returns, the segments may be back in the pool.
                bool all = n == data.Length;
                data.Slice(0, n).CopyTo(buffer.Span);
                _incoming.Reader.AdvanceTo(data.GetPosition(n));
                if (all && result.IsCompleted)
                {
                    lock (_gate)
                    {
                        _endIsNext = _readError is null;
                    }
                }
                Consumed(n);
                return n;
            }
            _incoming.Reader.AdvanceTo(data.Start, data.End);
            if (result.IsCompleted)
            {
                Exception? error;
                lock (_gate)
                {
                    error = _readError;
                }
                return error is null ? 0 : throw error;
            }
            if (result.IsCanceled)
            {
                throw new OperationCanceledException(cancellationToken);
            }
        }
    }

    /// <summary>
    /// True when the last read took the last bytes before the peer's FIN: the end is known
    /// already, so a relay can pass it on together with those bytes.
    /// </summary>
    public bool EndIsNext => _endIsNext;

    /// <summary>Counts bytes the reader took and grants them back to the peer in steps.</summary>
    private void Consumed(int count)
    {
        uint grant = 0;
        lock (_gate)
        {
            if (_remoteFinished)
            {
                return;
            }
            _consumedSinceGrant += count;
            if (_consumedSinceGrant >= _grantStep)
            {
                grant = (uint)_consumedSinceGrant;
                _receiveCredit += grant;
                _consumedSinceGrant = 0;
            }
        }
        if (grant > 0)
        {
            _session.QueueFrame(FrameType.Window, Id, grant);
        }
    }

    /// <summary>
    /// Lets the peer have up to <paramref name="window"/> bytes in flight on this stream instead of
    /// <see cref="MuxSession.InitialWindow"/> (at most <see cref="MuxSession.MaxCredit"/>), and
    /// grants credit back in quarters of it: for a stream that carries a bulk transfer alone, where
    /// the default window leaves the sender waiting for credit and costs a WINDOW frame, and the
    /// thread switches on both sides that go with it, every 256 KiB. What the peer sends within
    /// the window may wait here unread, so only a stream that is alone on its session should ask.
    /// </summary>
    public void WidenWindow(long window)
    {
        window = Math.Min(window, MuxSession.MaxCredit);
        uint grant;
        lock (_gate)
        {
            if (_closed || _remoteFinished || window <= _grantStep * 4)
            {
                return;
            }
            grant = (uint)(window - _grantStep * 4);
            _receiveCredit += grant;
            _grantStep = window / 4;
        }
        _session.QueueFrame(FrameType.Window, Id, grant);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) =>
        ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    /// <summary>Sends <paramref name="buffer"/>; completes once all of it is in records (not necessarily on the wire).</summary>
    /// <exception cref="SecureChannelException">The stream was reset, or the session failed.</exception>
    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
        WriteAsync(buffer, complete: false, cancellationToken);

    /// <summary>
    /// Sends <paramref name="buffer"/>, and with <paramref name="complete"/> half-closes right
    /// after it: the FIN goes in the same record as the last of the data, so the peer learns of
    /// both at once.
    /// </summary>
    /// <exception cref="SecureChannelException">The stream was reset, or the session failed.</exception>
    public ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, bool complete, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (buffer.IsEmpty)
        {
            if (complete)
            {
                CompleteWrites();
            }
            return ValueTask.CompletedTask;
        }
        bool enqueue;
        short version;
        lock (_gate)
        {
            if (_writeError is not null)
            {
                return ValueTask.FromException(_writeError);
            }
            if (_finQueued)
            {
                throw new InvalidOperationException("Writes on this stream were completed.");
            }
            if (_writing)
            {
                throw new InvalidOperationException("Another write on this stream is in progress.");
            }
            _writing = true;
            _pending = buffer;
            _finQueued = complete;
            _finWithWrite = complete;
            _writeDone.Reset();
            version = _writeDone.Version;
            if (cancellationToken.CanBeCanceled)
            {
                // Under the lock, so that the write cannot finish before the registration is
                // stored; a token cancelled already runs the callback here (the lock is reentrant).
                _writeCancellation = cancellationToken.UnsafeRegister(static (state, token) => ((MuxStream)state!).CancelWrite(token), this);
            }
            enqueue = _writing && _sendCredit > 0 && !_queued;
            _queued |= enqueue;
        }
        if (enqueue)
        {
            _session.QueueData(this);
        }
        return new ValueTask(this, version);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count) =>
        WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    /// <summary>Nothing to do: writes are handed to the session as they come.</summary>
    public override void Flush()
    {
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Half-closes: the peer reads the end of the stream after the bytes already written. Idempotent.</summary>
    public void CompleteWrites()
    {
        lock (_gate)
        {
            if (_finQueued || _closed)
            {
                return;
            }
            if (_writing)
            {
                throw new InvalidOperationException("A write on this stream is in progress.");
            }
            _finQueued = true;
        }
        _session.QueueFin(this);
    }

    /// <summary>Aborts both directions at once: the peer's reads and writes on the stream fail.</summary>
    public void Reset()
    {
        var error = new SecureChannelException(SecureFailure.Closed, "the stream was reset by this side");
        if (Close(error, error))
        {
            _session.QueueFrame(FrameType.Reset, Id);
            _session.Forget(this);
        }
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing && !_disposed)
        {
            _disposed = true;
            bool clean;
            lock (_gate)
            {
                clean = _closed || (_finQueued && _remoteFinished);
            }
            if (!clean)
            {
                Reset();
            }
            _incoming.Reader.Complete();
        }
        base.Dispose(disposing);
    }

    public override ValueTask DisposeAsync()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
        return ValueTask.CompletedTask;
    }

    // ---- Called by the session's reader loop: never blocks. ----

    /// <summary>A DATA frame arrived.</summary>
    /// <exception cref="SecureChannelException">The peer broke the window or wrote after its FIN.</exception>
    internal void OnData(ReadOnlySpan<byte> payload)
    {
        lock (_gate)
        {
            if (_closed)
            {
                return;
            }
            if (_remoteFinished)
            {
                throw SecureChannelException.Violation($"data on stream {Id} after its end");
            }
            if (payload.Length > _receiveCredit)
            {
                throw SecureChannelException.Violation($"more data on stream {Id} than its window allows");
            }
            _receiveCredit -= payload.Length;
            _incoming.Writer.Write(payload);
            _unflushed = true;
        }
    }

    /// <summary>
    /// Hands the data of the record just opened to the reader. Once per record, after all its
    /// frames: a FIN in the same record then reaches the reader together with the data.
    /// </summary>
    internal void FlushIncoming()
    {
        lock (_gate)
        {
            if (!_unflushed || _remoteFinished)
            {
                return;
            }
            _unflushed = false;
            // The pipe never pauses its writer, so the flush is complete at once.
            _incoming.Writer.FlushAsync().GetAwaiter().GetResult();
        }
    }

    /// <summary>The peer's FIN arrived. True when the stream is now closed both ways.</summary>
    internal bool OnFin()
    {
        lock (_gate)
        {
            if (_closed)
            {
                return false;
            }
            if (_remoteFinished)
            {
                throw SecureChannelException.Violation($"a second end of stream {Id}");
            }
            _remoteFinished = true;
            _incoming.Writer.Complete();
            _closed = _finSent;
            return _closed;
        }
    }

    /// <summary>The peer reset the stream.</summary>
    internal void OnReset()
    {
        var error = new SecureChannelException(SecureFailure.StreamReset, "the other side reset the connection");
        Close(error, error);
    }

    /// <summary>A WINDOW frame arrived: more credit to send.</summary>
    internal void OnWindow(uint increment)
    {
        bool enqueue;
        lock (_gate)
        {
            if (_closed)
            {
                return;
            }
            if (increment == 0 || _sendCredit + increment > MuxSession.MaxCredit)
            {
                throw SecureChannelException.Violation($"a window update of {increment} on stream {Id}");
            }
            _sendCredit += increment;
            enqueue = !_pending.IsEmpty && !_queued;
            _queued |= enqueue;
        }
        if (enqueue)
        {
            _session.QueueData(this);
        }
    }

    /// <summary>The session failed or was closed: everything on the stream fails with <paramref name="error"/>.</summary>
    internal void Fault(Exception error) => Close(error, error);

    // ---- Called by the session's writer loop. ----

    /// <summary>
    /// Copies the next chunk of the pending write, as far as the credit allows, into
    /// <paramref name="destination"/>. <paramref name="again"/> says whether the stream must be
    /// queued again for more; <paramref name="fin"/>, that the write is done and its FIN must follow
    /// the chunk in the same record.
    /// </summary>
    internal int TakeChunk(Span<byte> destination, out bool again, out bool fin)
    {
        int n;
        bool done;
        lock (_gate)
        {
            _queued = false;
            again = false;
            fin = false;
            if (_pending.IsEmpty || _sendCredit <= 0)
            {
                return 0;
            }
            n = (int)Math.Min(Math.Min(destination.Length, _pending.Length), _sendCredit);
            _pending.Span[..n].CopyTo(destination);
            _pending = _pending[n..];
            _sendCredit -= n;
            done = _pending.IsEmpty;
            if (!done && _sendCredit > 0)
            {
                _queued = again = true;
            }
            fin = done && _finWithWrite;
        }
        if (done)
        {
            FinishWrite(null);
        }
        return n;
    }

    /// <summary>The writer put this stream's FIN into a record. True when the stream is now closed both ways.</summary>
    internal bool OnFinSent()
    {
        lock (_gate)
        {
            if (_closed)
            {
                return false;
            }
            _finSent = true;
            _closed = _remoteFinished;
            return _closed;
        }
    }

    // ---- Internals. ----

    /// <summary>Closes the stream with errors for readers and writers. True if this call closed it.</summary>
    private bool Close(Exception readError, Exception writeError)
    {
        bool failWrite;
        lock (_gate)
        {
            if (_closed)
            {
                return false;
            }
            _closed = true;
            _readError ??= _remoteFinished ? null : readError;
            _writeError ??= writeError;
            failWrite = _writing;
            _pending = default;
            if (!_remoteFinished)
            {
                _remoteFinished = true;
                _incoming.Writer.Complete();
            }
        }
        if (failWrite)
        {
            FinishWrite(writeError);
        }
        return true;
    }

    private void CancelWrite(CancellationToken token)
    {
        lock (_gate)
        {
            if (!_writing)
            {
                return;
            }
            _pending = default;
        }
        FinishWrite(new OperationCanceledException(token));
    }

    private void FinishWrite(Exception? error)
    {
        CancellationTokenRegistration registration;
        lock (_gate)
        {
            if (!_writing)
            {
                return;
            }
            _writing = false;
            _pending = default;
            registration = _writeCancellation;
            _writeCancellation = default;
        }
        registration.Dispose();
        if (error is null)
        {
            _writeDone.SetResult(true);
        }
        else
        {
            _writeDone.SetException(error);
        }
    }

    void IValueTaskSource.GetResult(short token) => _writeDone.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _writeDone.GetStatus(token);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _writeDone.OnCompleted(continuation, state, token, flags);
}
