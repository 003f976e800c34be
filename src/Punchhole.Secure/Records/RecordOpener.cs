using System.Buffers;
using System.Buffers.Binary;
using Punchhole.Secure.Sodium;

namespace Punchhole.Secure.Records;

/// <summary>
/// Opens the records of one direction from the bytes received so far. A record is opened only
/// once all its bytes are there and it authenticates, so nothing of an altered record, nor of
/// anything after it, is ever handed on.
/// </summary>
internal sealed class RecordOpener : IDisposable
{
    private readonly byte[] _key;
    private SecretStream? _stream;
    private byte[]? _scratch;
    private bool _failed;

    public RecordOpener(ReadOnlySpan<byte> key)
    {
        _key = key.ToArray();
    }

    /// <summary>True once the final record has been opened.</summary>
    public bool Finished { get; private set; }

    /// <summary>
    /// Opens the next record at the start of <paramref name="buffer"/> into <paramref name="plaintext"/>
    /// (at least <see cref="RecordFormat.MaxPlaintextLength"/> bytes) and slices the buffer past it.
    /// False when the record is not complete yet.
    /// </summary>
    /// <exception cref="SecureChannelException">The record failed authentication, or bytes follow the final record.</exception>
    public bool TryOpen(ref ReadOnlySequence<byte> buffer, Span<byte> plaintext, out int length, out bool final)
    {
        length = 0;
        final = false;
        if (_failed)
        {
            throw SecureChannelException.Tampered();
        }
        if (Finished)
        {
            if (!buffer.IsEmpty)
            {
                throw SecureChannelException.Violation("data after the final record");
            }
            return false;
        }
        if (_stream is null)
        {
            if (buffer.Length < RecordFormat.HeaderLength)
            {
                return false;
            }
            Span<byte> header = stackalloc byte[RecordFormat.HeaderLength];
            buffer.Slice(0, RecordFormat.HeaderLength).CopyTo(header);
            _stream = SecretStream.ForReceiving(_key, header);
            Secret.Wipe(_key);
            buffer = buffer.Slice(RecordFormat.HeaderLength);
        }
        if (buffer.Length < RecordFormat.LengthFieldLength)
        {
            return false;
        }
        Span<byte> lengthField = stackalloc byte[RecordFormat.LengthFieldLength];
        buffer.Slice(0, RecordFormat.LengthFieldLength).CopyTo(lengthField);
        uint sealedLength = BinaryPrimitives.ReadUInt32BigEndian(lengthField);
        if (sealedLength is < RecordFormat.MinSealedLength or > RecordFormat.MaxSealedLength)
        {
            // Only an altered length field can say this: the record cannot authenticate.
            _failed = true;
            throw SecureChannelException.Tampered();
        }
        long recordLength = RecordFormat.LengthFieldLength + sealedLength;
        if (buffer.Length < recordLength)
        {
            return false;
        }
        var sealedBytes = buffer.Slice(RecordFormat.LengthFieldLength, sealedLength);
        ReadOnlySpan<byte> ciphertext;
        if (sealedBytes.IsSingleSegment)
        {
            ciphertext = sealedBytes.FirstSpan;
        }
        else
        {
            _scratch ??= ArrayPool<byte>.Shared.Rent(RecordFormat.MaxSealedLength);
            sealedBytes.CopyTo(_scratch);
            ciphertext = _scratch.AsSpan(0, (int)sealedLength);
        }
        if (!_stream.TryPull(ciphertext, lengthField, plaintext, out length, out byte tag))
        {
            _failed = true;
            throw SecureChannelException.Tampered();
        }
        if (tag == SecretStream.TagFinal)
        {
            Finished = true;
            final = true;
        }
        else if (tag != SecretStream.TagMessage)
        {
            _failed = true;
            throw SecureChannelException.Violation($"a record with the unknown tag {tag}");
        }
        buffer = buffer.Slice(recordLength);
        return true;
    }

    public void Dispose()
    {
        Secret.Wipe(_key);
        _stream?.Dispose();
        if (_scratch is not null)
        {
            ArrayPool<byte>.Shared.Return(_scratch);
            _scratch = null;
        }
    }
}
