using System.Buffers.Binary;
using Punchhole.Secure.Sodium;

namespace Punchhole.Secure.Records;

/// <summary>
/// The record layer's wire format, the same in each direction, each under its own key:
/// <code>
///   header      u32 big-endian: bit 31 = final, bits 0..30 = the plaintext's length (at most 65536)
///   ciphertext  the plaintext encrypted with the direction's AEAD: ChaCha20-Poly1305 (IETF,
///               RFC 8439), or AES-256-GCM once both sides switched (<see cref="CipherNegotiation"/>)
///   tag         16 bytes
/// </code>
/// The nonce is the record's number in its direction (0, 1, 2, ...) as 12 bytes big-endian; it is
/// never sent. The 4 header bytes are the associated data. So a record that is altered, moved,
/// replayed, dropped or taken from the other direction fails authentication, and so does a header
/// whose length or final flag was changed. A direction ends with exactly one final record.
/// </summary>
internal static class RecordFormat
{
    public const int HeaderLength = 4;
    public const int TagLength = Aead.TagLength;
    public const int Overhead = HeaderLength + TagLength;

    /// <summary>The largest plaintext one record carries: 64 KiB.</summary>
    public const int MaxPlaintextLength = 64 * 1024;

    /// <summary>The most bytes one record takes on the wire.</summary>
    public const int MaxRecordLength = MaxPlaintextLength + Overhead;

    private const uint FinalFlag = 0x8000_0000;

    /// <summary>Wire bytes for a record of <paramref name="plaintextLength"/> bytes.</summary>
    public static int RecordLength(int plaintextLength) => plaintextLength + Overhead;

    public static void WriteHeader(Span<byte> header, int plaintextLength, bool final) =>
        BinaryPrimitives.WriteUInt32BigEndian(header, (uint)plaintextLength | (final ? FinalFlag : 0));

    /// <summary>The plaintext length and the final flag of a header; false when the length is out of range.</summary>
    public static bool TryReadHeader(ReadOnlySpan<byte> header, out int plaintextLength, out bool final)
    {
        uint value = BinaryPrimitives.ReadUInt32BigEndian(header);
        final = (value & FinalFlag) != 0;
        uint length = value & ~FinalFlag;
        plaintextLength = (int)Math.Min(length, int.MaxValue);
        return length <= MaxPlaintextLength;
    }

    /// <summary>The nonce of record number <paramref name="sequence"/>: 4 zero bytes, then the number big-endian.</summary>
    public static void Nonce(ulong sequence, Span<byte> nonce)
    {
        nonce[..4].Clear();
        BinaryPrimitives.WriteUInt64BigEndian(nonce[4..], sequence);
    }
}
