using System.Buffers.Binary;
using System.Numerics;

namespace Punchhole.Tests.Protocol;

/// <summary>
/// SipHash-2-4 of any message, written plainly from the paper (Aumasson and Bernstein, 2012):
/// the oracle the server's unrolled 32-byte hash is checked against.
/// </summary>
internal static class SipHashReference
{
    public static ulong Hash(ulong k0, ulong k1, ReadOnlySpan<byte> message)
    {
        ulong[] v = [k0 ^ 0x736f6d6570736575UL, k1 ^ 0x646f72616e646f6dUL, k0 ^ 0x6c7967656e657261UL, k1 ^ 0x7465646279746573UL];
        int whole = message.Length & ~7;
        for (int i = 0; i < whole; i += 8)
        {
            Compress(v, BinaryPrimitives.ReadUInt64LittleEndian(message[i..]));
        }
        ulong last = (ulong)message.Length << 56;
        for (int i = whole; i < message.Length; i++)
        {
            last |= (ulong)message[i] << (8 * (i - whole));
        }
        Compress(v, last);
        v[2] ^= 0xff;
        for (int r = 0; r < 4; r++)
        {
            SipRound(v);
        }
        return v[0] ^ v[1] ^ v[2] ^ v[3];
    }

    private static void Compress(ulong[] v, ulong m)
    {
        v[3] ^= m;
        SipRound(v);
        SipRound(v);
        v[0] ^= m;
    }

    private static void SipRound(ulong[] v)
    {
        v[0] += v[1]; v[1] = BitOperations.RotateLeft(v[1], 13); v[1] ^= v[0]; v[0] = BitOperations.RotateLeft(v[0], 32);
        v[2] += v[3]; v[3] = BitOperations.RotateLeft(v[3], 16); v[3] ^= v[2];
        v[0] += v[3]; v[3] = BitOperations.RotateLeft(v[3], 21); v[3] ^= v[0];
        v[2] += v[1]; v[1] = BitOperations.RotateLeft(v[1], 17); v[1] ^= v[2]; v[2] = BitOperations.RotateLeft(v[2], 32);
    }
}
