namespace Punchhole.Secure.Sodium;

/// <summary>
/// libsodium's crypto_aead_chacha20poly1305_ietf (RFC 8439) under one key: fast and constant-time
/// on any CPU, the record layer's default and fallback.
/// </summary>
internal sealed unsafe class ChaCha20Poly1305 : Aead
{
    public ChaCha20Poly1305(ReadOnlySpan<byte> key)
        : base(KeyLength)
    {
        Guard.Length(key, KeyLength, nameof(key));
        key[..KeyLength].CopyTo(new Span<byte>(Secret, KeyLength));
    }

    public override string Name => "ChaCha20-Poly1305";

    protected override void SealInPlace(byte* message, ulong length, byte* additional, ulong additionalLength, byte* nonce, byte* tag) =>
        Native.crypto_aead_chacha20poly1305_ietf_encrypt_detached(message, tag, null, message, length, additional, additionalLength, null, nonce, Secret);

    /// <remarks>The tag is checked before anything is decrypted: a failed record's bytes stay as they were.</remarks>
    protected override bool OpenInPlace(byte* ciphertext, ulong length, byte* additional, ulong additionalLength, byte* nonce, byte* tag) =>
        Native.crypto_aead_chacha20poly1305_ietf_decrypt_detached(ciphertext, null, ciphertext, length, tag, additional, additionalLength, nonce, Secret) == 0;
}
