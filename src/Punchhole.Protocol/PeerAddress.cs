using System.Net;
using System.Net.Sockets;

namespace Punchhole.Protocol;

/// <summary>
/// An observed transport address (IP and port) as a value: what the server sees of a
/// client and what a client learns of its peer. IPv4 is held IPv4-mapped, so one
/// representation covers both families and dual-stack sockets.
/// </summary>
public readonly struct PeerAddress : IEquatable<PeerAddress>
{
    private readonly ulong _high, _low;

    public PeerAddress(ulong high, ulong low, ushort port)
    {
        _high = high;
        _low = low;
        Port = port;
    }

    public ushort Port { get; }

    /// <summary>True for IPv4 and IPv4-mapped IPv6 addresses.</summary>
    public bool IsIPv4 => _high == 0 && (_low >> 32) == 0xFFFF;

    /// <summary>Reads an endpoint without allocating.</summary>
    public static PeerAddress FromEndPoint(IPEndPoint endPoint)
    {
        Span<byte> bytes = stackalloc byte[16];
        if (!endPoint.Address.TryWriteBytes(bytes, out int written)
            || !IpAddressText.TryReadBytes(bytes[..written], out ulong high, out ulong low))
        {
            throw new ArgumentException($"Not an IP endpoint: {endPoint}", nameof(endPoint));
        }
        return new PeerAddress(high, low, (ushort)endPoint.Port);
    }

    /// <summary>The address as .NET sees it: plain IPv4 for IPv4 and IPv4-mapped addresses.</summary>
    public IPAddress ToIPAddress()
    {
        if (IsIPv4)
        {
            return new IPAddress(new byte[] { (byte)(_low >> 24), (byte)(_low >> 16), (byte)(_low >> 8), (byte)_low });
        }
        var bytes = new byte[16];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(bytes, _high);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(bytes.AsSpan(8), _low);
        return new IPAddress(bytes);
    }

    /// <summary>An endpoint in <paramref name="family"/>: IPv4 addresses are mapped for an IPv6 socket.</summary>
    public IPEndPoint ToEndPoint(AddressFamily family)
    {
        var address = ToIPAddress();
        if (family == AddressFamily.InterNetworkV6 && address.AddressFamily == AddressFamily.InterNetwork)
        {
            address = address.MapToIPv6();
        }
        return new IPEndPoint(address, Port);
    }

    /// <summary>The same address with another port; with port 0 it names a host.</summary>
    public PeerAddress WithPort(ushort port) => new(_high, _low, port);

    /// <summary>
    /// The block of addresses one subscriber holds, as a value with port 0: the address itself for
    /// IPv4, its /64 for IPv6 (a site is handed a /64 or more, and picks any address in it at will).
    /// Per-source limits count by it.
    /// </summary>
    public PeerAddress SourceBlock() => IsIPv4 ? new(_high, _low, 0) : new(_high, 0, 0);

    /// <summary>The high 64 bits of the address (IPv4 addresses are held IPv4-mapped).</summary>
    internal ulong High => _high;

    /// <summary>The low 64 bits of the address.</summary>
    internal ulong Low => _low;

    /// <summary>Writes the address text (no port); returns the byte count.</summary>
    public int FormatAddress(Span<byte> destination) => IpAddressText.Format(_high, _low, destination);

    public bool Equals(PeerAddress other) => _high == other._high && _low == other._low && Port == other.Port;

    public override bool Equals(object? obj) => obj is PeerAddress other && Equals(other);

    public override int GetHashCode() => HashCode.Combine(_high, _low, Port);

    public static bool operator ==(PeerAddress left, PeerAddress right) => left.Equals(right);

    public static bool operator !=(PeerAddress left, PeerAddress right) => !left.Equals(right);

    /// <summary>The reply form, <c>ADDR PORT</c>.</summary>
    public override string ToString()
    {
        Span<byte> text = stackalloc byte[TStun.MaxReplyLength];
        return System.Text.Encoding.ASCII.GetString(text[..PeerReply.Format(this, text)]);
    }
}
