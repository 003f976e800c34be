using System.IO.Pipelines;
using System.Runtime.CompilerServices;

namespace Punchhole.Secure.Records;

/// <summary>
/// Writes the records of the sending direction into the transport's PipeWriter. A record is laid
/// out and sealed in the pipe's own buffer: the caller fills <see cref="BeginRecord"/>'s memory
/// with plaintext and <see cref="EndRecord"/> seals it where it is.
/// </summary>
internal sealed class RecordWriter : IDisposable
{
    private readonly PipeWriter _output;
    private readonly RecordSealer _sealer;
    private Memory<byte> _record;

    public RecordWriter(PipeWriter output, ReadOnlySpan<byte> key)
    {
        _output = output;
        _sealer = new RecordSealer(key);
    }

    /// <summary>True once the final record was written.</summary>
    public bool Finished => _sealer.Finished;

    /// <summary>
    /// Room for the next record's plaintext (<see cref="RecordFormat.MaxPlaintextLength"/> bytes) in
    /// the pipe's buffer, valid until <see cref="EndRecord"/> or a flush.
    /// </summary>
    public Memory<byte> BeginRecord()
    {
        _record = _output.GetMemory(RecordFormat.MaxRecordLength);
        return _record.Slice(RecordFormat.HeaderLength, RecordFormat.MaxPlaintextLength);
    }

    /// <summary>Seals the first <paramref name="plaintextLength"/> bytes of the begun record, without flushing.</summary>
    /// <returns>The record's length on the wire.</returns>
    public int EndRecord(int plaintextLength, bool final)
    {
        if (_record.IsEmpty)
        {
            throw new InvalidOperationException("No record was begun.");
        }
        int length = _sealer.SealInPlace(_record.Span, plaintextLength, final);
        _record = default;
        _output.Advance(length);
        return length;
    }

    /// <summary>The cipher the next record is sealed with.</summary>
    public CipherSuite Suite => _sealer.Suite;

    /// <summary>Copies and seals one record without flushing; <paramref name="plaintext"/> is at most 64 KiB.</summary>
    /// <returns>The record's length on the wire.</returns>
    public int Write(ReadOnlySpan<byte> plaintext, bool final = false)
    {
        plaintext.CopyTo(BeginRecord().Span);
        return EndRecord(plaintext.Length, final);
    }

    /// <summary>Seals the records after this call with <paramref name="suite"/> under <paramref name="key"/>.</summary>
    public void Switch(CipherSuite suite, ReadOnlySpan<byte> key)
    {
        if (!_record.IsEmpty)
        {
            throw new InvalidOperationException("A record is begun.");
        }
        _sealer.Switch(suite, key);
    }

    /// <summary>Sends what was written.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public async ValueTask FlushAsync(CancellationToken cancellationToken = default)
    {
        _record = default;
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
