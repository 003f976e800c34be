using System.Buffers;
using Punchhole.Secure.Sodium;

namespace Punchhole.Secure.Records;

/// <summary>
/// Seals the records of one direction, in place: the caller lays the plaintext out at
/// <see cref="RecordFormat.HeaderLength"/> in the record's own buffer (a pipe's memory), and the
/// sealer writes the header, encrypts the plaintext where it is and appends the tag.
/// </summary>
internal sealed class RecordSealer : IDisposable
{
    private Aead _aead;
    private ulong _sequence;

    public RecordSealer(ReadOnlySpan<byte> key)
    {
        _aead = new ChaCha20Poly1305(key);
    }

    /// <summary>The cipher the next record is sealed with.</summary>
    public CipherSuite Suite { get; private set; }

    /// <summary>
    /// Seals the records after this call with <paramref name="suite"/> under <paramref name="key"/>.
    /// The record count goes on: a nonce never repeats in the direction, whatever the key.
    /// </summary>
    public void Switch(CipherSuite suite, ReadOnlySpan<byte> key)
    {
        _aead = CipherPreference.Replace(_aead, suite, key);
        Suite = suite;
    }

    /// <summary>True once the final record is sealed: nothing more may follow.</summary>
    public bool Finished { get; private set; }

    /// <summary>
    /// Seals the record in <paramref name="record"/>, whose plaintext of <paramref name="plaintextLength"/>
    /// bytes starts at offset <see cref="RecordFormat.HeaderLength"/>, with room for the tag after it.
    /// <paramref name="final"/> marks the authenticated end of the direction.
    /// </summary>
    /// <returns>The record's length on the wire.</returns>
    public int SealInPlace(Span<byte> record, int plaintextLength, bool final)
    {
        if ((uint)plaintextLength > RecordFormat.MaxPlaintextLength)
        {
            throw new ArgumentOutOfRangeException(nameof(plaintextLength), $"A record carries at most {RecordFormat.MaxPlaintextLength} bytes.");
        }
        int length = RecordFormat.RecordLength(plaintextLength);
        Guard.Length(record, length, nameof(record));
        if (Finished)
        {
            throw new InvalidOperationException("The final record was already sent.");
        }
        if (_sequence == ulong.MaxValue)
        {
            // Never reached in practice (2^64 records); a nonce must never repeat under the key.
            throw new SecureChannelException(SecureFailure.Closed, "the connection sent the most records one key may seal");
        }
        Span<byte> nonce = stackalloc byte[Aead.NonceLength];
        RecordFormat.Nonce(_sequence, nonce);
        var header = record[..RecordFormat.HeaderLength];
        RecordFormat.WriteHeader(header, plaintextLength, final);
        _aead.Seal(nonce, record.Slice(RecordFormat.HeaderLength, plaintextLength), header,
            record.Slice(RecordFormat.HeaderLength + plaintextLength, RecordFormat.TagLength));
        _sequence++;
        Finished = final;
        return length;
    }

    /// <summary>Copies <paramref name="plaintext"/> into <paramref name="output"/> and seals it there as one record.</summary>
    public void Seal(ReadOnlySpan<byte> plaintext, bool final, IBufferWriter<byte> output)
    {
        if (plaintext.Length > RecordFormat.MaxPlaintextLength)
        {
            throw new ArgumentException($"A record carries at most {RecordFormat.MaxPlaintextLength} bytes.", nameof(plaintext));
        }
        var record = output.GetSpan(RecordFormat.RecordLength(plaintext.Length));
        plaintext.CopyTo(record[RecordFormat.HeaderLength..]);
        output.Advance(SealInPlace(record, plaintext.Length, final));
    }

    public void Dispose() => _aead.Dispose();
}
