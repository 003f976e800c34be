using System.Runtime.InteropServices;

namespace Punchhole.Secure.Sodium;

/// <summary>
/// One key of an AEAD the record layer seals with: 32-byte key, 96-bit nonce chosen by the caller
/// (who must never use one twice under the key), detached 16-byte tag, sealing and opening in
/// place. The key, or the state expanded from it, lives in native memory and is wiped on dispose.
/// </summary>
internal abstract unsafe class Aead : IDisposable
{
    public const int KeyLength = 32;
    public const int NonceLength = 12;
    public const int TagLength = 16;

    private const int SecretAlignment = 16;

    private readonly int _secretLength;
    private byte* _secret;

    /// <summary>Allocates <paramref name="secretLength"/> bytes of native memory, 16-byte aligned, for the key or its state.</summary>
    protected Aead(int secretLength)
    {
        Library.EnsureInitialized();
        _secretLength = secretLength;
        _secret = (byte*)NativeMemory.AlignedAlloc((nuint)secretLength, SecretAlignment);
    }

    /// <summary>The cipher suite's name as the record layer's documentation spells it.</summary>
    public abstract string Name { get; }

    /// <summary>The key or the expanded state, for the subclass to fill once.</summary>
    protected byte* Secret => _secret;

    /// <summary>Encrypts <paramref name="message"/> in place and writes its tag, binding <paramref name="additional"/>.</summary>
    public void Seal(ReadOnlySpan<byte> nonce, Span<byte> message, ReadOnlySpan<byte> additional, Span<byte> tag)
    {
        CheckUsable(nonce, tag);
        fixed (byte* n = nonce)
        fixed (byte* m = message)
        fixed (byte* a = additional)
        fixed (byte* t = tag)
        {
            SealInPlace(m, (ulong)message.Length, a, (ulong)additional.Length, n, t);
        }
    }

    /// <summary>
    /// Checks the tag and decrypts <paramref name="ciphertext"/> in place. False when it fails
    /// authentication: the bytes are then unusable (a cipher may have overwritten them).
    /// </summary>
    public bool TryOpen(ReadOnlySpan<byte> nonce, Span<byte> ciphertext, ReadOnlySpan<byte> additional, ReadOnlySpan<byte> tag)
    {
        CheckUsable(nonce, tag);
        fixed (byte* n = nonce)
        fixed (byte* c = ciphertext)
        fixed (byte* a = additional)
        fixed (byte* t = tag)
        {
            return OpenInPlace(c, (ulong)ciphertext.Length, a, (ulong)additional.Length, n, t);
        }
    }

    /// <summary>libsodium's detached encryption, in place, under <see cref="Secret"/>.</summary>
    protected abstract void SealInPlace(byte* message, ulong length, byte* additional, ulong additionalLength, byte* nonce, byte* tag);

    /// <summary>libsodium's detached decryption, in place, under <see cref="Secret"/>; true when the tag verified.</summary>
    protected abstract bool OpenInPlace(byte* ciphertext, ulong length, byte* additional, ulong additionalLength, byte* nonce, byte* tag);

    ~Aead() => Free();

    public void Dispose()
    {
        Free();
        GC.SuppressFinalize(this);
    }

    private void CheckUsable(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> tag)
    {
        Guard.Length(nonce, NonceLength, nameof(nonce));
        Guard.Length(tag, TagLength, nameof(tag));
        ObjectDisposedException.ThrowIf(_secret is null, this);
    }

    private void Free()
    {
        if (_secret is not null)
        {
            Native.sodium_memzero(_secret, (nuint)_secretLength);
            NativeMemory.AlignedFree(_secret);
            _secret = null;
        }
    }
}
