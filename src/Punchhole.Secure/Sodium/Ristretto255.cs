namespace Punchhole.Secure.Sodium;

/// <summary>The ristretto255 group (RFC 9496) as libsodium provides it.</summary>
internal static unsafe class Ristretto255
{
    public const int PointLength = 32;
    public const int ScalarLength = 32;
    public const int HashLength = 64;

    /// <summary>The element derivation of RFC 9496: 64 uniform bytes to a group element.</summary>
    public static void FromHash(ReadOnlySpan<byte> hash, Span<byte> point)
    {
        Guard.Length(hash, HashLength, nameof(hash));
        Guard.Length(point, PointLength, nameof(point));
        Library.EnsureInitialized();
        fixed (byte* h = hash)
        fixed (byte* p = point)
        {
            Native.crypto_core_ristretto255_from_hash(p, h);
        }
    }

    /// <summary>A uniformly random non-zero scalar modulo the group order.</summary>
    public static void RandomScalar(Span<byte> scalar)
    {
        Guard.Length(scalar, ScalarLength, nameof(scalar));
        Library.EnsureInitialized();
        fixed (byte* s = scalar)
        {
            Native.crypto_core_ristretto255_scalar_random(s);
        }
    }

    /// <summary>
    /// result = scalar * point. False when the point is not a valid encoding or the result is the
    /// identity element, which CPace treats as an abort (its scalar_mult_vfy returning G.I).
    /// </summary>
    public static bool TryMultiply(ReadOnlySpan<byte> scalar, ReadOnlySpan<byte> point, Span<byte> result)
    {
        Guard.Length(scalar, ScalarLength, nameof(scalar));
        Guard.Length(point, PointLength, nameof(point));
        Guard.Length(result, PointLength, nameof(result));
        Library.EnsureInitialized();
        fixed (byte* s = scalar)
        fixed (byte* p = point)
        fixed (byte* r = result)
        {
            if (Native.crypto_scalarmult_ristretto255(r, s, p) != 0)
            {
                result[..PointLength].Clear();
                return false;
            }
            return true;
        }
    }

    /// <summary>True when the 32 bytes are the canonical encoding of a group element.</summary>
    public static bool IsValidPoint(ReadOnlySpan<byte> point)
    {
        if (point.Length != PointLength)
        {
            return false;
        }
        Library.EnsureInitialized();
        fixed (byte* p = point)
        {
            return Native.crypto_core_ristretto255_is_valid_point(p) == 1;
        }
    }
}
