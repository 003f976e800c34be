using System.IO.Pipelines;
using System.Runtime.CompilerServices;

namespace Punchhole.Secure.Records;

/// <summary>
/// Writes the records of the sending direction into the transport's PipeWriter: plaintext cut
/// into records of at most 64 KiB, sealed straight into the pipe's buffers.
/// </summary>
internal sealed class RecordWriter : IDisposable
{
    private readonly PipeWriter _output;
    private readonly RecordSealer _sealer;

    public RecordWriter(PipeWriter output, ReadOnlySpan<byte> key)
    {
        _output = output;
        _sealer = new RecordSealer(key);
    }

    /// <summary>True once the final record was written.</summary>
    public bool Finished => _sealer.Finished;

    /// <summary>Seals one record without flushing; <paramref name="plaintext"/> is at most 64 KiB.</summary>
    public void Write(ReadOnlySpan<byte> plaintext, bool final = false) => _sealer.Seal(plaintext, final, _output);

    /// <summary>Sends what was written.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public async ValueTask FlushAsync(CancellationToken cancellationToken = default)
    {
        var result = await _output.FlushAsync(cancellationToken).ConfigureAwait(false);
        if (result.IsCanceled)
        {
            throw new OperationCanceledException(cancellationToken);
        }
    }

    /// <summary>Seals <paramref name="data"/> as records of at most 64 KiB and sends them.</summary>
    public ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        var span = data.Span;
        while (!span.IsEmpty)
        {
            int take = Math.Min(span.Length, RecordFormat.MaxPlaintextLength);
            Write(span[..take]);
            span = span[take..];
        }
        return FlushAsync(cancellationToken);
    }

    /// <summary>Sends the final record: the authenticated end of this direction.</summary>
    public ValueTask CompleteAsync(CancellationToken cancellationToken = default)
    {
        Write([], final: true);
        return FlushAsync(cancellationToken);
    }

    public void Dispose() => _sealer.Dispose();
}
