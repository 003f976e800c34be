using System.Buffers;
using System.Buffers.Binary;
using Punchhole.Secure.Sodium;

namespace Punchhole.Secure.Records;

/// <summary>Seals the records of one direction into a buffer writer (the transport's PipeWriter).</summary>
internal sealed class RecordSealer : IDisposable
{
    private readonly SecretStream _stream;
    private readonly byte[] _header = new byte[RecordFormat.HeaderLength];
    private bool _headerWritten;
    private bool _finished;

    public RecordSealer(ReadOnlySpan<byte> key)
    {
        _stream = SecretStream.ForSending(key, _header);
    }

    /// <summary>True once the final record is sealed: nothing more may follow.</summary>
    public bool Finished => _finished;

    /// <summary>
    /// Writes one record (preceded, the first time, by the stream header) into
    /// <paramref name="output"/>. <paramref name="final"/> marks the authenticated end of the direction.
    /// </summary>
    public void Seal(ReadOnlySpan<byte> plaintext, bool final, IBufferWriter<byte> output)
    {
        if (plaintext.Length > RecordFormat.MaxPlaintextLength)
        {
            throw new ArgumentException($"A record carries at most {RecordFormat.MaxPlaintextLength} bytes.", nameof(plaintext));
        }
        if (_finished)
        {
            throw new InvalidOperationException("The final record was already sent.");
        }
        if (!_headerWritten)
        {
            output.Write(_header);
            _headerWritten = true;
        }
        int sealedLength = plaintext.Length + SecretStream.Overhead;
        var span = output.GetSpan(RecordFormat.LengthFieldLength + sealedLength);
        BinaryPrimitives.WriteUInt32BigEndian(span, (uint)sealedLength);
        _stream.Push(plaintext, span[..RecordFormat.LengthFieldLength], final ? SecretStream.TagFinal : SecretStream.TagMessage,
            span.Slice(RecordFormat.LengthFieldLength, sealedLength));
        output.Advance(RecordFormat.LengthFieldLength + sealedLength);
        _finished = final;
    }

    public void Dispose() => _stream.Dispose();
}
