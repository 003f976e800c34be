namespace Punchhole.Secure.Sodium;

/// <summary>Argon2id version 1.3 (RFC 9106) through libsodium's crypto_pwhash.</summary>
internal static unsafe class Argon2id
{
    public const int SaltLength = 16;
    private const int AlgorithmArgon2id13 = 2;

    /// <summary>Fills <paramref name="output"/> with Argon2id(password, salt) at the given cost.</summary>
    /// <exception cref="InsufficientMemoryException">libsodium could not get the memory it was told to use.</exception>
    public static void DeriveKey(ReadOnlySpan<byte> password, ReadOnlySpan<byte> salt, ulong iterations, nuint memoryBytes, Span<byte> output)
    {
        if (salt.Length != SaltLength)
        {
            throw new ArgumentException($"The salt is exactly {SaltLength} bytes.", nameof(salt));
        }
        Library.EnsureInitialized();
        fixed (byte* p = password)
        fixed (byte* s = salt)
        fixed (byte* o = output)
        {
            // A fixed non-null pointer for an empty password: libsodium reads none of it.
            byte empty = 0;
            byte* passwordPointer = password.IsEmpty ? &empty : p;
            if (Native.crypto_pwhash(o, (ulong)output.Length, passwordPointer, (ulong)password.Length, s, iterations, memoryBytes, AlgorithmArgon2id13) != 0)
            {
                throw new InsufficientMemoryException($"Argon2id could not get {memoryBytes / (1024 * 1024)} MiB of memory.");
            }
        }
    }
}
