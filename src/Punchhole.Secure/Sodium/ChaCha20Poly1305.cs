using System.Runtime.InteropServices;

namespace Punchhole.Secure.Sodium;

/// <summary>
/// libsodium's crypto_aead_chacha20poly1305_ietf (RFC 8439) under one key: fast and constant-time
/// on any CPU, the record layer's default and fallback.
/// </summary>
internal sealed unsafe class ChaCha20Poly1305 : Aead
{
    private byte* _key;

    public ChaCha20Poly1305(ReadOnlySpan<byte> key)
    {
        Guard.Length(key, KeyLength, nameof(key));
        Library.EnsureInitialized();
        _key = (byte*)NativeMemory.Alloc(KeyLength);
        key[..KeyLength].CopyTo(new Span<byte>(_key, KeyLength));
    }

    public override string Name => "ChaCha20-Poly1305";

    public override void Seal(ReadOnlySpan<byte> nonce, Span<byte> message, ReadOnlySpan<byte> additional, Span<byte> tag)
    {
        CheckLengths(nonce, tag);
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

    public override bool TryOpen(ReadOnlySpan<byte> nonce, Span<byte> ciphertext, ReadOnlySpan<byte> additional, ReadOnlySpan<byte> tag)
    {
        CheckLengths(nonce, tag);
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

    public override void Dispose()
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
