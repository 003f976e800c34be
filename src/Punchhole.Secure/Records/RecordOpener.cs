using System.Buffers;
using System.Runtime.InteropServices;
using Punchhole.Secure.Sodium;

namespace Punchhole.Secure.Records;

/// <summary>
/// Opens the records of one direction from the bytes received so far, decrypting each in place in
/// the receive buffer (or, for a record split across buffer segments, in a scratch buffer). A
/// record is opened only once all its bytes are there and it authenticates, so nothing of an
/// altered record, nor of anything after it, is ever handed on.
/// </summary>
internal sealed class RecordOpener : IDisposable
{
    private Aead _aead;
    private ulong _sequence;
    private byte[]? _scratch;
    private bool _failed;

    public RecordOpener(ReadOnlySpan<byte> key)
    {
        _aead = new ChaCha20Poly1305(key);
    }

    /// <summary>The cipher the next record is opened with.</summary>
    public CipherSuite Suite { get; private set; }

    /// <summary>Opens the records after this call with <paramref name="suite"/> under <paramref name="key"/>; the record count goes on.</summary>
    public void Switch(CipherSuite suite, ReadOnlySpan<byte> key)
    {
        _aead = CipherPreference.Replace(_aead, suite, key);
        Suite = suite;
    }

    /// <summary>True once the final record has been opened.</summary>
    public bool Finished { get; private set; }

    /// <summary>
    /// Opens the next record at the start of <paramref name="buffer"/> and slices the buffer past
    /// it. The buffer's memory must be writable: the record is decrypted where it lies, and
    /// <paramref name="plaintext"/> points into it (or into this opener's scratch buffer) until the
    /// buffer is released or the next record is opened. False when the record is not complete yet.
    /// </summary>
    /// <exception cref="SecureChannelException">The record failed authentication, or bytes follow the final record.</exception>
    public bool TryOpen(ref ReadOnlySequence<byte> buffer, out Memory<byte> plaintext, out bool final)
    {
        plaintext = default;
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
        if (buffer.Length < RecordFormat.HeaderLength)
        {
            return false;
        }
        Span<byte> header = stackalloc byte[RecordFormat.HeaderLength];
        buffer.Slice(0, RecordFormat.HeaderLength).CopyTo(header);
        if (!RecordFormat.TryReadHeader(header, out int length, out bool last))
        {
            // Only an altered header can say this: the record cannot authenticate.
            _failed = true;
            throw SecureChannelException.Tampered();
        }
        int recordLength = RecordFormat.RecordLength(length);
        if (buffer.Length < recordLength)
        {
            return false;
        }
        var recordBytes = buffer.Slice(0, recordLength);
        Memory<byte> record;
        if (recordBytes.IsSingleSegment)
        {
            record = MemoryMarshal.AsMemory(recordBytes.First);
        }
        else
        {
            _scratch ??= ArrayPool<byte>.Shared.Rent(RecordFormat.MaxRecordLength);
            recordBytes.CopyTo(_scratch);
            record = _scratch.AsMemory(0, recordLength);
        }
        Span<byte> nonce = stackalloc byte[Aead.NonceLength];
        RecordFormat.Nonce(_sequence, nonce);
        var span = record.Span;
        if (!_aead.TryOpen(nonce, span.Slice(RecordFormat.HeaderLength, length), header, span.Slice(RecordFormat.HeaderLength + length, RecordFormat.TagLength)))
        {
            _failed = true;
            throw SecureChannelException.Tampered();
        }
        // 2^64 records cannot arrive: the sender refuses to seal the last nonce.
        _sequence++;
        Finished = last;
        final = last;
        plaintext = record.Slice(RecordFormat.HeaderLength, length);
        buffer = buffer.Slice(recordLength);
        return true;
    }

    public void Dispose()
    {
        _aead.Dispose();
        if (_scratch is not null)
        {
            ArrayPool<byte>.Shared.Return(_scratch, clearArray: true);
            _scratch = null;
        }
    }
}
