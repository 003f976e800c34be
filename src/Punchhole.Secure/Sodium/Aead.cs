namespace Punchhole.Secure.Sodium;

/// <summary>
/// One key of an AEAD the record layer seals with: 32-byte key, 96-bit nonce chosen by the caller
/// (who must never use one twice under the key), detached 16-byte tag, sealing and opening in
/// place. The key (or its expanded state) lives in native memory and is wiped on dispose.
/// </summary>
internal abstract class Aead : IDisposable
{
    public const int KeyLength = 32;
    public const int NonceLength = 12;
    public const int TagLength = 16;

    /// <summary>The cipher suite's name as the record layer's documentation spells it.</summary>
    public abstract string Name { get; }

    /// <summary>Encrypts <paramref name="message"/> in place and writes its tag, binding <paramref name="additional"/>.</summary>
    public abstract void Seal(ReadOnlySpan<byte> nonce, Span<byte> message, ReadOnlySpan<byte> additional, Span<byte> tag);

    /// <summary>
    /// Checks the tag and, only if it is right, decrypts <paramref name="ciphertext"/> in place.
    /// False (and the bytes untouched) when it fails authentication.
    /// </summary>
    public abstract bool TryOpen(ReadOnlySpan<byte> nonce, Span<byte> ciphertext, ReadOnlySpan<byte> additional, ReadOnlySpan<byte> tag);

    public abstract void Dispose();

    protected static void CheckLengths(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> tag)
    {
        Guard.Length(nonce, NonceLength, nameof(nonce));
        Guard.Length(tag, TagLength, nameof(tag));
    }
}
