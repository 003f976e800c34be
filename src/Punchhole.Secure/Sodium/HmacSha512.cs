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

    private fixed ulong _state[Library.HmacSha512StateBytes / sizeof(ulong)];

    public static int MacLength => Length;

    /// <summary>The MAC of <paramref name="message"/> under <paramref name="key"/>.</summary>
    public static void Compute(ReadOnlySpan<byte> key, ReadOnlySpan<byte> message, Span<byte> mac) => Compute(key, message, [], mac);

    public static void Compute(ReadOnlySpan<byte> key, ReadOnlySpan<byte> first, ReadOnlySpan<byte> second, Span<byte> mac)
    {
        Guard.Length(mac, Length, nameof(mac));
        Library.EnsureInitialized();
        HmacSha512 hmac = default;
        fixed (byte* k = key)
        fixed (byte* a = first)
        fixed (byte* b = second)
        fixed (byte* m = mac)
        {
            void* state = hmac._state;
            Native.crypto_auth_hmacsha512_init(state, k, (nuint)key.Length);
            Native.crypto_auth_hmacsha512_update(state, a, (ulong)first.Length);
            Native.crypto_auth_hmacsha512_update(state, b, (ulong)second.Length);
            Native.crypto_auth_hmacsha512_final(state, m);
            Native.sodium_memzero((byte*)state, Library.HmacSha512StateBytes);
        }
    }
}

/// <summary>HMAC-SHA-256 through libsodium, so that HKDF can be checked against RFC 5869's own vectors.</summary>
internal unsafe struct HmacSha256 : IMac
{
    public const int Length = 32;

    private fixed ulong _state[Library.HmacSha256StateBytes / sizeof(ulong)];

    public static int MacLength => Length;

    public static void Compute(ReadOnlySpan<byte> key, ReadOnlySpan<byte> first, ReadOnlySpan<byte> second, Span<byte> mac)
    {
        Guard.Length(mac, Length, nameof(mac));
        Library.EnsureInitialized();
        HmacSha256 hmac = default;
        fixed (byte* k = key)
        fixed (byte* a = first)
        fixed (byte* b = second)
        fixed (byte* m = mac)
        {
            void* state = hmac._state;
            Native.crypto_auth_hmacsha256_init(state, k, (nuint)key.Length);
            Native.crypto_auth_hmacsha256_update(state, a, (ulong)first.Length);
            Native.crypto_auth_hmacsha256_update(state, b, (ulong)second.Length);
            Native.crypto_auth_hmacsha256_final(state, m);
            Native.sodium_memzero((byte*)state, Library.HmacSha256StateBytes);
        }
    }
}
