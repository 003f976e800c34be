using System.Runtime.InteropServices;

namespace Punchhole.Secure.Sodium;

/// <summary>
/// One direction of libsodium's crypto_secretstream_xchacha20poly1305: a 24-byte header, then
/// messages each sealed with XChaCha20-Poly1305 under an internal counter nonce, with a tag byte
/// (message or final) inside the authenticated part. The state (key and nonce) lives in native
/// memory and is wiped on dispose.
/// </summary>
internal sealed unsafe class SecretStream : IDisposable
{
    public const int KeyLength = 32;
    public const int HeaderLength = 24;

    /// <summary>Bytes a sealed message has over its plaintext: the encrypted tag byte and the 16-byte MAC.</summary>
    public const int Overhead = 17;

    public const byte TagMessage = 0x00;
    public const byte TagFinal = 0x03;

    private byte* _state;

    private SecretStream()
    {
        Library.EnsureInitialized();
        _state = (byte*)NativeMemory.AllocZeroed(Library.SecretStreamStateBytes);
    }

    /// <summary>The sending side: writes the header the receiver needs into <paramref name="header"/>.</summary>
    public static SecretStream ForSending(ReadOnlySpan<byte> key, Span<byte> header)
    {
        Guard.Length(key, KeyLength, nameof(key));
        Guard.Length(header, HeaderLength, nameof(header));
        var stream = new SecretStream();
        fixed (byte* k = key)
        fixed (byte* h = header)
        {
            Native.crypto_secretstream_xchacha20poly1305_init_push(stream._state, h, k);
        }
        return stream;
    }

    /// <summary>The receiving side, from the sender's header.</summary>
    public static SecretStream ForReceiving(ReadOnlySpan<byte> key, ReadOnlySpan<byte> header)
    {
        Guard.Length(key, KeyLength, nameof(key));
        Guard.Length(header, HeaderLength, nameof(header));
        var stream = new SecretStream();
        fixed (byte* k = key)
        fixed (byte* h = header)
        {
            // init_pull only copies the key and the nonce from the header: it cannot fail.
            Native.crypto_secretstream_xchacha20poly1305_init_pull(stream._state, h, k);
        }
        return stream;
    }

    /// <summary>
    /// Seals one message into <paramref name="ciphertext"/> (plaintext length + <see cref="Overhead"/>
    /// bytes), binding <paramref name="additional"/> to it.
    /// </summary>
    public void Push(ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> additional, byte tag, Span<byte> ciphertext)
    {
        Guard.Length(ciphertext, plaintext.Length + Overhead, nameof(ciphertext));
        ObjectDisposedException.ThrowIf(_state is null, this);
        fixed (byte* m = plaintext)
        fixed (byte* a = additional)
        fixed (byte* c = ciphertext)
        {
            Native.crypto_secretstream_xchacha20poly1305_push(_state, c, null, m, (ulong)plaintext.Length, a, (ulong)additional.Length, tag);
        }
    }

    /// <summary>
    /// Opens the next message. False when it fails authentication: altered, out of order, replayed
    /// or sealed under another key. The state is then unusable.
    /// </summary>
    public bool TryPull(ReadOnlySpan<byte> ciphertext, ReadOnlySpan<byte> additional, Span<byte> plaintext, out int written, out byte tag)
    {
        written = 0;
        tag = 0;
        if (ciphertext.Length < Overhead)
        {
            return false;
        }
        Guard.Length(plaintext, ciphertext.Length - Overhead, nameof(plaintext));
        ObjectDisposedException.ThrowIf(_state is null, this);
        ulong length;
        byte t;
        fixed (byte* c = ciphertext)
        fixed (byte* a = additional)
        fixed (byte* m = plaintext)
        {
            if (Native.crypto_secretstream_xchacha20poly1305_pull(_state, m, &length, &t, c, (ulong)ciphertext.Length, a, (ulong)additional.Length) != 0)
            {
                return false;
            }
        }
        written = (int)length;
        tag = t;
        return true;
    }

    ~SecretStream() => Free();

    public void Dispose()
    {
        Free();
        GC.SuppressFinalize(this);
    }

    private void Free()
    {
        if (_state is not null)
        {
            Native.sodium_memzero(_state, Library.SecretStreamStateBytes);
            NativeMemory.Free(_state);
            _state = null;
        }
    }
}
