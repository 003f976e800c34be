using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Punchhole.Tests.Support;

/// <summary>PROXY protocol headers as a proxy sends them, built from the specification's layout, for tests.</summary>
internal static class ProxyHeaders
{
    public static readonly byte[] V2Signature = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A];

    /// <summary>A version 1 line, CRLF added.</summary>
    public static byte[] V1(string line) => Encoding.ASCII.GetBytes(line + "\r\n");

    /// <summary>A version 1 TCP4/TCP6 line for <paramref name="source"/> (family from the source).</summary>
    public static byte[] V1(IPEndPoint source, IPEndPoint destination) =>
        V1($"PROXY {(source.AddressFamily == AddressFamily.InterNetwork ? "TCP4" : "TCP6")} {source.Address} {destination.Address} {source.Port} {destination.Port}");

    /// <summary>A version 2 header: signature, version 2 with <paramref name="command"/>, <paramref name="family"/>, then the block.</summary>
    public static byte[] V2(byte command, byte family, ReadOnlySpan<byte> block)
    {
        var header = new byte[16 + block.Length];
        V2Signature.CopyTo(header, 0);
        header[12] = (byte)(0x20 | command);
        header[13] = family;
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(14), (ushort)block.Length);
        block.CopyTo(header.AsSpan(16));
        return header;
    }

    /// <summary>A version 2 PROXY over TCP, IPv4 (0x11) or IPv6 (0x21) by the source's family, with optional TLV bytes after the addresses.</summary>
    public static byte[] V2(IPEndPoint source, IPEndPoint destination, byte[]? tlvs = null)
    {
        bool v4 = source.AddressFamily == AddressFamily.InterNetwork;
        int size = v4 ? 4 : 16;
        var block = new byte[2 * size + 4 + (tlvs?.Length ?? 0)];
        source.Address.TryWriteBytes(block, out _);
        destination.Address.TryWriteBytes(block.AsSpan(size), out _);
        BinaryPrimitives.WriteUInt16BigEndian(block.AsSpan(2 * size), (ushort)source.Port);
        BinaryPrimitives.WriteUInt16BigEndian(block.AsSpan(2 * size + 2), (ushort)destination.Port);
        tlvs?.CopyTo(block, 2 * size + 4);
        return V2(1, (byte)(v4 ? 0x11 : 0x21), block);
    }

    /// <summary>A version 2 LOCAL command with no addresses, as HAProxy's health checks send it.</summary>
    public static byte[] V2Local() => V2(0, 0x00, []);

    /// <summary>One TLV: type, 16-bit length, value.</summary>
    public static byte[] Tlv(byte type, byte[] value)
    {
        var tlv = new byte[3 + value.Length];
        tlv[0] = type;
        BinaryPrimitives.WriteUInt16BigEndian(tlv.AsSpan(1), (ushort)value.Length);
        value.CopyTo(tlv, 3);
        return tlv;
    }
}
