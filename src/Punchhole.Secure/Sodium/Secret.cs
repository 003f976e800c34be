namespace Punchhole.Secure.Sodium;

/// <summary>Wiping and comparing secret bytes without leaking them through timing.</summary>
internal static unsafe class Secret
{
    /// <summary>Overwrites the bytes with zeros in a way the compiler cannot drop.</summary>
    public static void Wipe(Span<byte> secret)
    {
        if (secret.IsEmpty)
        {
            return;
        }
        Library.EnsureInitialized();
        fixed (byte* p = secret)
        {
            Native.sodium_memzero(p, (nuint)secret.Length);
        }
    }

    /// <summary>True when both spans hold the same bytes; the time taken depends on the length only.</summary>
    public static bool Equal(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        if (a.Length != b.Length)
        {
            return false;
        }
        if (a.IsEmpty)
        {
            return true;
        }
        Library.EnsureInitialized();
        fixed (byte* pa = a)
        fixed (byte* pb = b)
        {
            return Native.sodium_memcmp(pa, pb, (nuint)a.Length) == 0;
        }
    }

    /// <summary>Fills the span with bytes from libsodium's CSPRNG (getrandom(2)).</summary>
    public static void Random(Span<byte> buffer)
    {
        if (buffer.IsEmpty)
        {
            return;
        }
        Library.EnsureInitialized();
        fixed (byte* p = buffer)
        {
            Native.randombytes_buf(p, (nuint)buffer.Length);
        }
    }

    /// <summary>A uniform integer in [0, <paramref name="bound"/>), without modulo bias (randombytes_uniform).</summary>
    public static uint Uniform(uint bound)
    {
        Library.EnsureInitialized();
        return Native.randombytes_uniform(bound);
    }
}
