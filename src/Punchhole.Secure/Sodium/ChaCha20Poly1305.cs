using System.Runtime.InteropServices;

namespace Punchhole.Secure.Sodium;

/// <summary>
/// libsodium's crypto_aead_chacha20poly1305_ietf (RFC 8439) under one key, sealing and opening in
/// place with a detached 16-byte tag. The caller supplies the 96-bit nonce and must never use one
/// twice under the key. The key lives in native memory and is wiped on dispose.
/// </summary>
internal sealed unsafe class ChaCha20Poly1305 : IDisposable
{
    public const int KeyLength = 32;
    public const int NonceLength = 12;
    public const int TagLength = 16;

    private byte* _key;

    public ChaCha20Poly1305(ReadOnlySpan<byte> key)
    {
        Guard.Length(key, KeyLength, nameof(key));
        Library.EnsureInitialized();
        _key = (byte*)NativeMemory.Alloc(KeyLength);
        key[..KeyLength].CopyTo(new Span<byte>(_key, KeyLength));
    }

    /// <summary>Encrypts <paramref name="message"/> in place and writes its tag, binding <paramref name="additional"/>.</summary>
    public void Seal(ReadOnlySpan<byte> nonce, Span<byte> message, ReadOnlySpan<byte> additional, Span<byte> tag)
    {
        Guard.Length(nonce, NonceLength, nameof(nonce));
        Guard.Length(tag, TagLength, nameof(tag));
        ObjectDisposedException.ThrowIf(_key is null, this);
        fixed (byte* n = nonce)
        fixed (byte* m = message)
        fixed (byte* a = additional)
        fixed (byte* t = tag)
        {
            Native.crypto_aead_chacha20poly1305_ietf_encrypt_detached(
                m, t, null, m, (ulong)message.Length, a, (ulong)additional.Length, null, n, _key);
        }
    }

    /// <summary>
    /// Checks the tag and, only if it is right, decrypts <paramref name="ciphertext"/> in place.
    /// False (and the bytes untouched) when it fails authentication.
    /// </summary>
    public bool TryOpen(ReadOnlySpan<byte> nonce, Span<byte> ciphertext, ReadOnlySpan<byte> additional, ReadOnlySpan<byte> tag)
    {
        Guard.Length(nonce, NonceLength, nameof(nonce));
        Guard.Length(tag, TagLength, nameof(tag));
        ObjectDisposedException.ThrowIf(_key is null, this);
        fixed (byte* n = nonce)
        fixed (byte* c = ciphertext)
        fixed (byte* a = additional)
        fixed (byte* t = tag)
        {
            return Native.crypto_aead_chacha20poly1305_ietf_decrypt_detached(
                c, null, c, (ulong)ciphertext.Length, t, a, (ulong)additional.Length, n, _key) == 0;
        }
    }

    ~ChaCha20Poly1305() => Free();

    public void Dispose()
    {
        Free();
        GC.SuppressFinalize(this);
    }

    private void Free()
    {
        if (_key is not null)
        {
            Native.sodium_memzero(_key, KeyLength);
            NativeMemory.Free(_key);
            _key = null;
        }
    }
}
