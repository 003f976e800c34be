namespace Punchhole.Secure.Sodium;

/// <summary>SHA-512 (libsodium's crypto_hash_sha512).</summary>
internal static unsafe class Sha512
{
    public const int HashLength = 64;

    /// <summary>Writes the 64-byte digest of <paramref name="message"/> into <paramref name="digest"/>.</summary>
    public static void Hash(ReadOnlySpan<byte> message, Span<byte> digest)
    {
        Guard.Length(digest, HashLength, nameof(digest));
        Library.EnsureInitialized();
        fixed (byte* m = message)
        fixed (byte* d = digest)
        {
            Native.crypto_hash_sha512(d, m, (ulong)message.Length);
        }
    }
}
