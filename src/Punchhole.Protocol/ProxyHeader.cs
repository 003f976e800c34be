using System.Buffers.Binary;

namespace Punchhole.Protocol;

/// <summary>What the bytes at the start of a connection from a proxy say, so far.</summary>
public enum ProxyHeaderStatus : byte
{
    /// <summary>A valid beginning of a header: every byte so far belongs to it, and more are needed.</summary>
    Incomplete,

    /// <summary>Not a PROXY protocol header, or a malformed one: drop the connection without a word.</summary>
    Invalid,

    /// <summary>A relayed TCP connection: the client's address and port are in the header.</summary>
    Proxied,

    /// <summary>A version 2 LOCAL command: the proxy's own connection (a health check); addresses are ignored.</summary>
    Local,

    /// <summary>
    /// A relayed connection the header gives no usable TCP address for: version 1 UNKNOWN, or a
    /// version 2 PROXY command with an unspecified or unsupported family or protocol (AF_UNSPEC,
    /// AF_UNIX, UDP). The specification lets the receiver fall back to the connection's own addresses.
    /// </summary>
    Unknown,
}

/// <summary>
/// HAProxy's PROXY protocol header, versions 1 (a text line) and 2 (binary), parsed from a span
/// without allocating. A receiver configured for the protocol must find a header at the start of
/// every connection and never guesses whether one is there: anything else is <see cref="ProxyHeaderStatus.Invalid"/>.
/// The parser is incremental: call it again with more bytes after <see cref="ProxyHeaderStatus.Incomplete"/>.
/// On Incomplete, every byte given belongs to the header, so a reader may consume all of them; on a
/// complete result exactly <c>length</c> bytes are the header and whatever follows is the stream's own data.
/// </summary>
public static class ProxyHeader
{
    /// <summary>The longest version 1 line, CRLF included: "PROXY UNKNOWN" with two full IPv6 addresses and ports.</summary>
    public const int MaxV1Length = 107;

    /// <summary>The fixed part of a version 2 header: signature, version and command, family and protocol, length.</summary>
    public const int V2FixedLength = 16;

    /// <summary>
    /// The longest header accepted: the specification designs both versions to fit the smallest TCP
    /// segment every host must take (576 - 40 bytes), so a version 2 header announcing more
    /// (AF_UNIX addresses are 216 bytes; the rest is TLVs) is refused rather than buffered.
    /// </summary>
    public const int MaxLength = 536;

    private const int V2AddressOffset = V2FixedLength;

    /// <summary>The version 2 signature: CR LF CR LF NUL CR LF "QUIT" LF.</summary>
    private static ReadOnlySpan<byte> V2Signature => [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A];

    private static ReadOnlySpan<byte> V1Prefix => "PROXY "u8;

    /// <summary>
    /// Parses the header at the start of <paramref name="data"/>. On Proxied, <paramref name="source"/>
    /// is the client's address (IPv4 held IPv4-mapped, as <see cref="PeerAddress"/> always does; its port
    /// may be 0, which the specification allows). On every complete result, <paramref name="length"/> is
    /// the header's byte count; on Incomplete it is the total length once known (version 2 after its
    /// first 16 bytes), else 0.
    /// </summary>
    public static ProxyHeaderStatus Parse(ReadOnlySpan<byte> data, out int length, out PeerAddress source)
    {
        length = 0;
        source = default;
        if (data.IsEmpty)
        {
            return ProxyHeaderStatus.Incomplete;
        }
        return data[0] == V2Signature[0] ? ParseV2(data, out length, out source) : ParseV1(data, out length, out source);
    }

    private static ProxyHeaderStatus ParseV2(ReadOnlySpan<byte> data, out int length, out PeerAddress source)
    {
        length = 0;
        source = default;
        int signed = Math.Min(data.Length, V2Signature.Length);
        if (!data[..signed].SequenceEqual(V2Signature[..signed]))
        {
            return ProxyHeaderStatus.Invalid;
        }
        if (data.Length <= V2Signature.Length)
        {
            return ProxyHeaderStatus.Incomplete;
        }
        // The version is the high nibble and must be 2; the command is LOCAL (0) or PROXY (1).
        byte versionCommand = data[12];
        if (versionCommand >> 4 != 2 || (versionCommand & 0xF) > 1)
        {
            return ProxyHeaderStatus.Invalid;
        }
        bool local = (versionCommand & 0xF) == 0;
        if (data.Length < 14)
        {
            return ProxyHeaderStatus.Incomplete;
        }
        // For LOCAL the family byte is ignored; for PROXY it must be a defined family and protocol.
        int family = data[13] >> 4, protocol = data[13] & 0xF;
        if (!local && (family > 3 || protocol > 2))
        {
            return ProxyHeaderStatus.Invalid;
        }
        if (data.Length < V2FixedLength)
        {
            return ProxyHeaderStatus.Incomplete;
        }
        int total = V2FixedLength + BinaryPrimitives.ReadUInt16BigEndian(data[14..]);
        if (total > MaxLength)
        {
            return ProxyHeaderStatus.Invalid;
        }
        length = total;
        if (data.Length < total)
        {
            return ProxyHeaderStatus.Incomplete;
        }
        if (local)
        {
            return ProxyHeaderStatus.Local;
        }
        // The address block's size for each family; the rest of the announced length is TLVs, skipped.
        int addresses = family switch { 1 => 12, 2 => 36, 3 => 216, _ => 0 };
        if (protocol == 0 || family == 0)
        {
            // Unspecified: the receiver ignores any address information.
            return ProxyHeaderStatus.Unknown;
        }
        if (total - V2FixedLength < addresses)
        {
            length = 0;
            return ProxyHeaderStatus.Invalid;
        }
        if (family == 3 || protocol != 1)
        {
            // AF_UNIX or UDP: valid, but not a TCP client this server could give a partner.
            return ProxyHeaderStatus.Unknown;
        }
        var block = data[V2AddressOffset..];
        int addressLength = family == 1 ? 4 : 16;
        IpAddressText.TryReadBytes(block[..addressLength], out ulong high, out ulong low);
        ushort port = BinaryPrimitives.ReadUInt16BigEndian(block[(2 * addressLength)..]);
        source = new PeerAddress(high, low, port);
        return ProxyHeaderStatus.Proxied;
    }

    private static ProxyHeaderStatus ParseV1(ReadOnlySpan<byte> data, out int length, out PeerAddress source)
    {
        length = 0;
        source = default;
        int prefixed = Math.Min(data.Length, V1Prefix.Length);
        if (!data[..prefixed].SequenceEqual(V1Prefix[..prefixed]))
        {
            return ProxyHeaderStatus.Invalid;
        }
        var window = data[..Math.Min(data.Length, MaxV1Length)];
        int end = window.IndexOf("\r\n"u8);
        // A CR or LF alone never ends the line, and has no place inside one: invalid as soon as seen.
        int stray = (end < 0 ? window : window[..end]).IndexOfAny((byte)'\r', (byte)'\n');
        if (stray >= 0 && (end >= 0 || stray < window.Length - 1 || window[stray] == (byte)'\n'))
        {
            return ProxyHeaderStatus.Invalid;
        }
        if (end < 0)
        {
            // No CRLF within the longest line allowed: invalid.
            return data.Length >= MaxV1Length ? ProxyHeaderStatus.Invalid : ProxyHeaderStatus.Incomplete;
        }
        var status = ParseV1Fields(data[V1Prefix.Length..end], out source);
        length = status == ProxyHeaderStatus.Invalid ? 0 : end + 2;
        return status;
    }

    /// <summary>The fields after "PROXY ": the protocol, then for TCP4/TCP6 two addresses and two ports, one space apart.</summary>
    private static ProxyHeaderStatus ParseV1Fields(ReadOnlySpan<byte> fields, out PeerAddress source)
    {
        source = default;
        if (fields.StartsWith("UNKNOWN"u8))
        {
            // Anything up to the CRLF is ignored, but the word must end there or at a space.
            return fields.Length == 7 || fields[7] == (byte)' ' ? ProxyHeaderStatus.Unknown : ProxyHeaderStatus.Invalid;
        }
        bool v6;
        if (fields.StartsWith("TCP4 "u8))
        {
            v6 = false;
        }
        else if (fields.StartsWith("TCP6 "u8))
        {
            v6 = true;
        }
        else
        {
            return ProxyHeaderStatus.Invalid;
        }
        var rest = fields[5..];
        if (!TryTakeField(ref rest, out var sourceText) || !TryTakeField(ref rest, out var destinationText)
            || !TryTakeField(ref rest, out var sourcePortText) || !TryTakeField(ref rest, out var destinationPortText, last: true)
            || !TryReadAddress(sourceText, v6, out ulong high, out ulong low)
            || !TryReadAddress(destinationText, v6, out _, out _)
            || !IpAddressText.TryParsePort(sourcePortText, out ushort sourcePort)
            || !IpAddressText.TryParsePort(destinationPortText, out _))
        {
            return ProxyHeaderStatus.Invalid;
        }
        source = new PeerAddress(high, low, sourcePort);
        return ProxyHeaderStatus.Proxied;
    }

    /// <summary>Takes one field up to exactly one space (or, for the last field, up to the end).</summary>
    private static bool TryTakeField(ref ReadOnlySpan<byte> rest, out ReadOnlySpan<byte> field, bool last = false)
    {
        int space = rest.IndexOf((byte)' ');
        if (last)
        {
            field = rest;
            return space < 0 && !rest.IsEmpty;
        }
        if (space <= 0)
        {
            field = default;
            return false;
        }
        field = rest[..space];
        rest = rest[(space + 1)..];
        return true;
    }

    /// <summary>A dotted quad for TCP4; for TCP6, IPv6 text (which always has a colon; a trailing dotted quad is allowed).</summary>
    private static bool TryReadAddress(ReadOnlySpan<byte> text, bool v6, out ulong high, out ulong low)
    {
        if (!v6)
        {
            high = 0;
            bool ok = IpAddressText.TryParseIPv4(text, out uint v4);
            low = 0xFFFF_0000_0000UL | v4;
            return ok;
        }
        high = low = 0;
        return text.IndexOf((byte)':') >= 0 && IpAddressText.TryParse(text, out high, out low);
    }
}
