using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;

namespace Punchhole.Secure.Records;

/// <summary>One opened record: its plaintext, valid until the next read, and whether it ended the direction.</summary>
internal readonly record struct Record(ReadOnlyMemory<byte> Plaintext, bool Final);

/// <summary>
/// Reads the records of the receiving direction from the transport's PipeReader, one at a time,
/// into a pooled buffer: no allocation per record.
/// </summary>
internal sealed class RecordReader : IDisposable
{
    private readonly PipeReader _input;
    private readonly RecordOpener _opener;
    private byte[]? _plaintext = ArrayPool<byte>.Shared.Rent(RecordFormat.MaxPlaintextLength);

    public RecordReader(PipeReader input, ReadOnlySpan<byte> key)
    {
        _input = input;
        _opener = new RecordOpener(key);
    }

    /// <summary>True once the final record has been read.</summary>
    public bool Finished => _opener.Finished;

    /// <summary>The next record. The final record, which may carry data, has <see cref="Record.Final"/> set.</summary>
    /// <exception cref="TransferEndedEarlyException">The connection ended, or was reset, before the final record.</exception>
    /// <exception cref="SecureChannelException">A record failed authentication.</exception>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<Record> ReadAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_plaintext is null, this);
        if (_opener.Finished)
        {
            throw new InvalidOperationException("The final record was already read.");
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
            bool opened;
            int length;
            bool final;
            try
            {
                opened = _opener.TryOpen(ref buffer, _plaintext, out length, out final);
            }
            catch
            {
                _input.AdvanceTo(buffer.Start, buffer.End);
                throw;
            }
            if (opened)
            {
                _input.AdvanceTo(buffer.Start);
                return new Record(_plaintext.AsMemory(0, length), final);
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

    public void Dispose()
    {
        _opener.Dispose();
        if (_plaintext is not null)
        {
            ArrayPool<byte>.Shared.Return(_plaintext, clearArray: true);
            _plaintext = null;
        }
    }
}
