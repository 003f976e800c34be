using Punchhole.Secure.Sodium;

namespace Punchhole.Secure.Handshake;

/// <summary>Which of the two parties a side is, decided by the ordered transcript, not by who dialled.</summary>
internal enum HandshakeRole
{
    /// <summary>The side whose message sorts first in the ordered transcript (the lexicographically larger).</summary>
    First,

    /// <summary>The other side.</summary>
    Second,
}

/// <summary>
/// What the channel derives from CPace's ISK, version 1: PRK = HKDF-Extract(salt, ISK), then per
/// role a confirmation key and a traffic key from HKDF-Expand with distinct labels. The labels
/// carry the version, so a later version derives unrelated keys from the same ISK.
/// </summary>
internal static class KeySchedule
{
    public const int ConfirmationKeyLength = 64;
    public const int TagLength = HmacSha512.Length;
    public const int TrafficKeyLength = Aead.KeyLength;

    public static ReadOnlySpan<byte> Salt => "punchhole secure channel v1"u8;

    private static ReadOnlySpan<byte> ConfirmFirst => "punchhole v1 confirmation from first"u8;
    private static ReadOnlySpan<byte> ConfirmSecond => "punchhole v1 confirmation from second"u8;
    private static ReadOnlySpan<byte> TrafficFirst => "punchhole v1 traffic from first"u8;
    private static ReadOnlySpan<byte> TrafficSecond => "punchhole v1 traffic from second"u8;
    private static ReadOnlySpan<byte> AesTrafficFirst => "punchhole v1 aes256gcm traffic from first"u8;
    private static ReadOnlySpan<byte> AesTrafficSecond => "punchhole v1 aes256gcm traffic from second"u8;

    public static HandshakeRole Other(this HandshakeRole role) =>
        role == HandshakeRole.First ? HandshakeRole.Second : HandshakeRole.First;

    /// <summary>PRK = HKDF-Extract("punchhole secure channel v1", ISK).</summary>
    public static void PseudorandomKey(ReadOnlySpan<byte> isk, Span<byte> prk) => Hkdf.Extract(Salt, isk, prk);

    /// <summary>The tag <paramref name="sender"/> sends: HMAC-SHA-512(HKDF-Expand(PRK, confirmation label, 64), transcript).</summary>
    public static void ConfirmationTag(ReadOnlySpan<byte> prk, HandshakeRole sender, ReadOnlySpan<byte> transcript, Span<byte> tag)
    {
        Span<byte> key = stackalloc byte[ConfirmationKeyLength];
        Hkdf.Expand(prk, sender == HandshakeRole.First ? ConfirmFirst : ConfirmSecond, key);
        HmacSha512.Compute(key, transcript, tag);
        Secret.Wipe(key);
    }

    /// <summary>The key for the records <paramref name="sender"/> sends: HKDF-Expand(PRK, traffic label, 32).</summary>
    public static void TrafficKey(ReadOnlySpan<byte> prk, HandshakeRole sender, Span<byte> key) =>
        Hkdf.Expand(prk, sender == HandshakeRole.First ? TrafficFirst : TrafficSecond, key[..TrafficKeyLength]);

    /// <summary>
    /// The key for the records <paramref name="sender"/> sends once both sides switched to
    /// AES-256-GCM: HKDF-Expand(PRK, its own label, 32), unrelated to the ChaCha20-Poly1305 key.
    /// </summary>
    public static void AesTrafficKey(ReadOnlySpan<byte> prk, HandshakeRole sender, Span<byte> key) =>
        Hkdf.Expand(prk, sender == HandshakeRole.First ? AesTrafficFirst : AesTrafficSecond, key[..TrafficKeyLength]);
}
