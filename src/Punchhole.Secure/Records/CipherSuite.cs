using Punchhole.Secure.Sodium;

namespace Punchhole.Secure.Records;

/// <summary>The AEADs a direction's records may be sealed with.</summary>
internal enum CipherSuite
{
    /// <summary>Every session starts with it; it stays when either side does not offer AES-256-GCM.</summary>
    ChaCha20Poly1305,

    /// <summary>After the switch, when both sides offered it (docs/SECURITY.md, "Switching to AES-256-GCM").</summary>
    Aes256Gcm,
}

/// <summary>Whether this side offers AES-256-GCM.</summary>
internal static class CipherPreference
{
    /// <summary>Set to 1, this side keeps ChaCha20-Poly1305 (it does not offer AES-256-GCM): for tests and comparisons.</summary>
    public const string DisableVariable = "PUNCHHOLE_NO_AESGCM";

    /// <summary>True when libsodium has AES-256-GCM on this CPU (AES-NI and PCLMULQDQ) and it is not disabled.</summary>
    public static bool OfferAesGcm => Environment.GetEnvironmentVariable(DisableVariable) != "1" && Aes256Gcm.IsAvailable;

    /// <summary>The AEAD of <paramref name="suite"/> under <paramref name="key"/>, made before <paramref name="current"/> is disposed.</summary>
    public static Aead Replace(Aead current, CipherSuite suite, ReadOnlySpan<byte> key)
    {
        Aead next = suite == CipherSuite.Aes256Gcm ? new Aes256Gcm(key) : new ChaCha20Poly1305(key);
        current.Dispose();
        return next;
    }
}
