using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;

namespace Punchhole.Secure.Records;

/// <summary>One opened record: its plaintext, valid until the next read, and whether it ended the direction.</summary>
internal readonly record struct Record(ReadOnlyMemory<byte> Plaintext, bool Final);

/// <summary>
/// Reads the records of the receiving direction from the transport's PipeReader, one at a time,
/// each decrypted in place in the pipe's buffer: no allocation and no copy per record. The pipe's
/// buffer is held until every complete record in it has been read.
/// </summary>
internal sealed class RecordReader : IDisposable
{
    private readonly PipeReader _input;
    private readonly RecordOpener _opener;

    // What is left of the buffer the last record came from, still held from the pipe.
    private ReadOnlySequence<byte> _held;
    private bool _holding;

    public RecordReader(PipeReader input, ReadOnlySpan<byte> key)
    {
        _input = input;
        _opener = new RecordOpener(key);
    }

    /// <summary>True once the final record has been read.</summary>
    public bool Finished => _opener.Finished;

    /// <summary>The cipher the next record is opened with.</summary>
    public CipherSuite Suite => _opener.Suite;

    /// <summary>
    /// True when the next record is already here, whole, in the buffer the last one came from: the
    /// next <see cref="ReadAsync"/> will not wait for the connection.
    /// </summary>
    public bool NextIsBuffered
    {
        get
        {
            if (!_holding || _held.Length < RecordFormat.HeaderLength)
            {
                return false;
            }
            Span<byte> header = stackalloc byte[RecordFormat.HeaderLength];
            _held.Slice(0, RecordFormat.HeaderLength).CopyTo(header);
            // An invalid header is not "buffered": the next read fails on it without waiting anyway.
            return RecordFormat.TryReadHeader(header, out int length, out _) && _held.Length >= RecordFormat.RecordLength(length);
        }
    }

    /// <summary>Opens the records after the one last read with <paramref name="suite"/> under <paramref name="key"/>.</summary>
    public void Switch(CipherSuite suite, ReadOnlySpan<byte> key) => _opener.Switch(suite, key);

    /// <summary>The next record. The final record, which may carry data, has <see cref="Record.Final"/> set.</summary>
    /// <exception cref="TransferEndedEarlyException">The connection ended, or was reset, before the final record.</exception>
    /// <exception cref="SecureChannelException">A record failed authentication.</exception>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<Record> ReadAsync(CancellationToken cancellationToken = default)
    {
        if (_opener.Finished)
        {
            throw new InvalidOperationException("The final record was already read.");
        }
        if (_holding)
        {
            _holding = false;
            var rest = _held;
            if (TryOpen(ref rest, out var next))
            {
                return next;
            }
            _input.AdvanceTo(rest.Start, rest.End);
        }
        while (true)
        {
            ReadResult result;
            try
            {
                result = await _input.ReadAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (IOException e) when (e is not SecureChannelException)
            {
                throw new TransferEndedEarlyException(e.Message, e);
            }
            var buffer = result.Buffer;
            if (TryOpen(ref buffer, out var record))
            {
                return record;
            }
            _input.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted)
            {
                throw new TransferEndedEarlyException();
            }
            if (result.IsCanceled)
            {
                throw new OperationCanceledException(cancellationToken);
            }
        }
    }

    /// <summary>Opens the record at the start of <paramref name="buffer"/>, holding the buffer when it does.</summary>
    private bool TryOpen(ref ReadOnlySequence<byte> buffer, out Record record)
    {
        bool opened;
        Memory<byte> plaintext;
        bool final;
        try
        {
            opened = _opener.TryOpen(ref buffer, out plaintext, out final);
        }
        catch
        {
            _input.AdvanceTo(buffer.Start, buffer.End);
            throw;
        }
        if (opened)
        {
            _held = buffer;
            _holding = true;
        }
        record = new Record(plaintext, final);
        return opened;
    }

    public void Dispose() => _opener.Dispose();
}
