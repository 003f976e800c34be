using Punchhole.Secure.Sodium;

namespace Punchhole.Secure.Records;

/// <summary>
/// The record layer's wire format, per direction: the 24-byte secretstream header, then records
/// <code>
///   length  u32 big-endian: the ciphertext's length, 17 .. 65553
///   sealed  crypto_secretstream_xchacha20poly1305_push(plaintext, ad = the 4 length bytes, tag)
/// </code>
/// The tag is TAG_MESSAGE, or TAG_FINAL for the last record of the direction. The length is the
/// associated data, so it cannot be changed without the record failing authentication.
/// </summary>
internal static class RecordFormat
{
    public const int HeaderLength = SecretStream.HeaderLength;
    public const int LengthFieldLength = 4;

    /// <summary>The largest plaintext one record carries: 64 KiB.</summary>
    public const int MaxPlaintextLength = 64 * 1024;

    public const int MinSealedLength = SecretStream.Overhead;
    public const int MaxSealedLength = MaxPlaintextLength + SecretStream.Overhead;

    /// <summary>The most bytes one record takes on the wire.</summary>
    public const int MaxRecordLength = LengthFieldLength + MaxSealedLength;

    /// <summary>Wire bytes for a record of <paramref name="plaintextLength"/> bytes.</summary>
    public static int RecordLength(int plaintextLength) => LengthFieldLength + plaintextLength + SecretStream.Overhead;
}
