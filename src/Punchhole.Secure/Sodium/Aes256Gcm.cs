using System.Runtime.InteropServices;

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
    private const int StateAlignment = 16;

    private static readonly Lazy<bool> Available = new(() =>
    {
        Library.EnsureInitialized();
        return Native.crypto_aead_aes256gcm_is_available() == 1;
    });

    private byte* _state;

    public Aes256Gcm(ReadOnlySpan<byte> key)
    {
        Guard.Length(key, KeyLength, nameof(key));
        if (!IsAvailable)
        {
            throw new PlatformNotSupportedException("AES-256-GCM needs a CPU with AES-NI and PCLMULQDQ.");
        }
        _state = (byte*)NativeMemory.AlignedAlloc(StateBytes, StateAlignment);
        fixed (byte* k = key)
        {
            Native.crypto_aead_aes256gcm_beforenm(_state, k);
        }
    }

    /// <summary>True when this CPU has what libsodium's AES-256-GCM needs (AES-NI and PCLMULQDQ).</summary>
    public static bool IsAvailable => Available.Value;

    public override string Name => "AES-256-GCM";

    public override void Seal(ReadOnlySpan<byte> nonce, Span<byte> message, ReadOnlySpan<byte> additional, Span<byte> tag)
    {
        CheckLengths(nonce, tag);
        ObjectDisposedException.ThrowIf(_state is null, this);
        fixed (byte* n = nonce)
        fixed (byte* m = message)
        fixed (byte* a = additional)
        fixed (byte* t = tag)
        {
            Native.crypto_aead_aes256gcm_encrypt_detached_afternm(
                m, t, null, m, (ulong)message.Length, a, (ulong)additional.Length, null, n, _state);
        }
    }

    /// <summary>As the base says, except that a failed record's bytes may be overwritten: they are unusable either way.</summary>
    public override bool TryOpen(ReadOnlySpan<byte> nonce, Span<byte> ciphertext, ReadOnlySpan<byte> additional, ReadOnlySpan<byte> tag)
    {
        CheckLengths(nonce, tag);
        ObjectDisposedException.ThrowIf(_state is null, this);
        fixed (byte* n = nonce)
        fixed (byte* c = ciphertext)
        fixed (byte* a = additional)
        fixed (byte* t = tag)
        {
            return Native.crypto_aead_aes256gcm_decrypt_detached_afternm(
                c, null, c, (ulong)ciphertext.Length, t, a, (ulong)additional.Length, n, _state) == 0;
        }
    }

    ~Aes256Gcm() => Free();

    public override void Dispose()
    {
        Free();
        GC.SuppressFinalize(this);
    }

    private void Free()
    {
        if (_state is not null)
        {
            Native.sodium_memzero(_state, StateBytes);
            NativeMemory.AlignedFree(_state);
            _state = null;
        }
    }
}
