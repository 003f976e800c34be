namespace Punchhole.Secure.Sodium;

/// <summary>A keyed MAC as HKDF uses it: a fixed output length and a key of any length.</summary>
internal interface IMac
{
    static abstract int MacLength { get; }

    /// <summary>Writes the MAC of the concatenation of <paramref name="first"/> and <paramref name="second"/>.</summary>
    static abstract void Compute(ReadOnlySpan<byte> key, ReadOnlySpan<byte> first, ReadOnlySpan<byte> second, Span<byte> mac);
}

/// <summary>
/// HMAC-SHA-512 (RFC 2104) with a key of any length, through libsodium's
/// crypto_auth_hmacsha512_init/update/final. The state lives on the caller's stack and is wiped.
/// </summary>
internal unsafe struct HmacSha512 : IMac
{
    public const int Length = 64;

    public static int MacLength => Length;

    /// <summary>The MAC of <paramref name="message"/> under <paramref name="key"/>.</summary>
    public static void Compute(ReadOnlySpan<byte> key, ReadOnlySpan<byte> message, Span<byte> mac) => Compute(key, message, [], mac);

    public static void Compute(ReadOnlySpan<byte> key, ReadOnlySpan<byte> first, ReadOnlySpan<byte> second, Span<byte> mac)
    {
        Guard.Length(mac, Length, nameof(mac));
        Span<ulong> state = stackalloc ulong[Library.HmacSha512StateBytes / sizeof(ulong)];
        Hmac.Compute(&Native.crypto_auth_hmacsha512_init, &Native.crypto_auth_hmacsha512_update, &Native.crypto_auth_hmacsha512_final, state, key, first, second, mac);
    }
}

/// <summary>HMAC-SHA-256 through libsodium, so that HKDF can be checked against RFC 5869's own vectors.</summary>
internal unsafe struct HmacSha256 : IMac
{
    public const int Length = 32;

    public static int MacLength => Length;

    public static void Compute(ReadOnlySpan<byte> key, ReadOnlySpan<byte> first, ReadOnlySpan<byte> second, Span<byte> mac)
    {
        Guard.Length(mac, Length, nameof(mac));
        Span<ulong> state = stackalloc ulong[Library.HmacSha256StateBytes / sizeof(ulong)];
        Hmac.Compute(&Native.crypto_auth_hmacsha256_init, &Native.crypto_auth_hmacsha256_update, &Native.crypto_auth_hmacsha256_final, state, key, first, second, mac);
    }
}

/// <summary>The one sequence both HMACs run through libsodium: init, update twice, final, then wipe the state.</summary>
internal static unsafe class Hmac
{
    /// <summary>The MAC of <paramref name="first"/> then <paramref name="second"/> under <paramref name="key"/>, into <paramref name="mac"/>.</summary>
    /// <remarks>
    /// <paramref name="init"/>, <paramref name="update"/> and <paramref name="final"/> are one HMAC's
    /// three functions; <paramref name="state"/> is room for its state (8-byte aligned) on the
    /// caller's stack, wiped afterwards.
    /// </remarks>
    public static void Compute(
        delegate*<void*, byte*, nuint, int> init,
        delegate*<void*, byte*, ulong, int> update,
        delegate*<void*, byte*, int> final,
        Span<ulong> state,
        ReadOnlySpan<byte> key,
        ReadOnlySpan<byte> first,
        ReadOnlySpan<byte> second,
        Span<byte> mac)
    {
        Library.EnsureInitialized();
        fixed (ulong* s = state)
        fixed (byte* k = key)
        fixed (byte* a = first)
        fixed (byte* b = second)
        fixed (byte* m = mac)
        {
            init(s, k, (nuint)key.Length);
            update(s, a, (ulong)first.Length);
            update(s, b, (ulong)second.Length);
            final(s, m);
            Native.sodium_memzero((byte*)s, (nuint)(state.Length * sizeof(ulong)));
        }
    }
}
