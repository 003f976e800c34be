using System.Net;
using Punchhole.Protocol;

namespace Punchhole.Benchmarks.Support;

/// <summary>Fixed inputs, the same in every run: wire keys from a seeded generator and the protocol's example addresses.</summary>
internal static class Samples
{
    /// <summary>The example IPv4 client of docs/PROTOCOL.md, as a dual-stack server sees it (IPv4-mapped).</summary>
    public static readonly IPEndPoint V4 = new(IPAddress.Parse("198.51.100.20").MapToIPv6(), 35943);

    /// <summary>The example IPv6 client of docs/PROTOCOL.md.</summary>
    public static readonly IPEndPoint V6 = new(IPAddress.Parse("2001:db8::7"), 40001);

    public static IPEndPoint EndPoint(string family) => family switch
    {
        "v4" => V4,
        "v6" => V6,
        _ => throw new ArgumentException($"No sample address for '{family}'.", nameof(family)),
    };

    /// <summary><paramref name="count"/> distinct 32-byte wire keys, one after another in one array.</summary>
    public static byte[] WireKeys(int count)
    {
        var keys = new byte[count * TStun.KeyLength];
        new Random(20251126).NextBytes(keys);
        return keys;
    }

    /// <summary>The <paramref name="index"/>th key of <paramref name="keys"/>.</summary>
    public static ReadOnlySpan<byte> Key(byte[] keys, int index) => keys.AsSpan(index * TStun.KeyLength, TStun.KeyLength);

    /// <summary>Distinct client addresses on loopback, as a server would observe them.</summary>
    public static PeerAddress Client(int index) =>
        PeerAddress.FromEndPoint(new IPEndPoint(IPAddress.Loopback, 1024 + (index % 60000)));
}
