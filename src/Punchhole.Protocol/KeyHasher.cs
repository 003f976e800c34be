using System.Buffers.Binary;
using System.Numerics;

namespace Punchhole.Protocol;

/// <summary>
/// SipHash-2-4 under a secret 128-bit key: a keyed hash whose collisions cannot be
/// found without the key, so client-chosen session keys cannot flood one bucket.
/// </summary>
public sealed class KeyHasher
{
    /// <summary>The hasher behind <see cref="SessionKey.GetHashCode"/>, keyed from the OS at start-up.</summary>
    public static KeyHasher Process { get; } = CreateRandom();

    private readonly ulong _k0, _k1;

    public KeyHasher(ulong k0, ulong k1)
    {
        _k0 = k0;
        _k1 = k1;
    }

    public static KeyHasher CreateRandom()
    {
        Span<byte> secret = stackalloc byte[16];
        SecureRandom.Fill(secret);
        return new KeyHasher(
            BinaryPrimitives.ReadUInt64LittleEndian(secret),
            BinaryPrimitives.ReadUInt64LittleEndian(secret[8..]));
    }

    public int Hash(in SessionKey key)
    {
        ulong h = key.Hash64(this);
        return (int)(h ^ (h >> 32));
    }

    /// <summary>SipHash-2-4 of a 32-byte message given as four little-endian words.</summary>
    /// <remarks>
    /// One loop over plain locals, on purpose. With the state in a struct or passed by reference
    /// to inlined helpers, the JIT keeps it in memory and every step goes through the stack: about
    /// 90 ns a hash on the 2-core test box, against about 22 ns like this (KeyLookupBenchmarks;
    /// docs/PERFORMANCE.md). The tests check it against a general SipHash written plainly.
    /// </remarks>
    internal ulong Hash64(ulong m0, ulong m1, ulong m2, ulong m3)
    {
        ulong v0 = _k0 ^ 0x736f6d6570736575UL, v1 = _k1 ^ 0x646f72616e646f6dUL;
        ulong v2 = _k0 ^ 0x6c7967656e657261UL, v3 = _k1 ^ 0x7465646279746573UL;
        // Steps 0-3 compress the message words, step 4 the length word; step 5 finalises.
        for (int step = 0; step < 6; step++)
        {
            ulong m = step switch { 0 => m0, 1 => m1, 2 => m2, 3 => m3, 4 => (ulong)SessionKey.Length << 56, _ => 0 };
            int rounds = 2;
            if (step < 5)
            {
                v3 ^= m;
            }
            else
            {
                v2 ^= 0xff;
                rounds = 4;
            }
            for (int r = 0; r < rounds; r++)
            {
                v0 += v1;
                v1 = BitOperations.RotateLeft(v1, 13);
                v1 ^= v0;
                v0 = BitOperations.RotateLeft(v0, 32);
                v2 += v3;
                v3 = BitOperations.RotateLeft(v3, 16);
                v3 ^= v2;
                v0 += v3;
                v3 = BitOperations.RotateLeft(v3, 21);
                v3 ^= v0;
                v2 += v1;
                v1 = BitOperations.RotateLeft(v1, 17);
                v1 ^= v2;
                v2 = BitOperations.RotateLeft(v2, 32);
            }
            v0 ^= m;
        }
        return v0 ^ v1 ^ v2 ^ v3;
    }
}
