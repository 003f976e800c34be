namespace Punchhole.Secure.Sodium;

/// <summary>
/// libsodium's crypto_aead_aes256gcm under one key, its round keys and GHASH key expanded once
/// (beforenm) rather than per record. libsodium offers it only on x86-64 CPUs with AES-NI and
/// PCLMULQDQ, where it is constant-time and faster than ChaCha20-Poly1305; see <see cref="IsAvailable"/>.
/// </summary>
internal sealed unsafe class Aes256Gcm : Aead
{
    /// <summary>crypto_aead_aes256gcm_state: 512 bytes, 16-byte aligned.</summary>
    internal const int StateBytes = 512;

    private static readonly Lazy<bool> Available = new(() =>
    {
        Library.EnsureInitialized();
        return Native.crypto_aead_aes256gcm_is_available() == 1;
    });

    public Aes256Gcm(ReadOnlySpan<byte> key)
        : base(StateBytes)
    {
        Guard.Length(key, KeyLength, nameof(key));
        if (!IsAvailable)
        {
            Dispose();
            throw new PlatformNotSupportedException("AES-256-GCM needs a CPU with AES-NI and PCLMULQDQ.");
        }
        fixed (byte* k = key)
        {
            Native.crypto_aead_aes256gcm_beforenm(Secret, k);
        }
    }

    /// <summary>True when this CPU has what libsodium's AES-256-GCM needs (AES-NI and PCLMULQDQ).</summary>
    public static bool IsAvailable => Available.Value;

    public override string Name => "AES-256-GCM";

    protected override void SealInPlace(byte* message, ulong length, byte* additional, ulong additionalLength, byte* nonce, byte* tag) =>
        Native.crypto_aead_aes256gcm_encrypt_detached_afternm(message, tag, null, message, length, additional, additionalLength, null, nonce, Secret);

    protected override bool OpenInPlace(byte* ciphertext, ulong length, byte* additional, ulong additionalLength, byte* nonce, byte* tag) =>
        Native.crypto_aead_aes256gcm_decrypt_detached_afternm(ciphertext, null, ciphertext, length, tag, additional, additionalLength, nonce, Secret) == 0;
}
