using System.Net;
using System.Text;
using Punchhole.Protocol;
using Punchhole.Tests.Support;

namespace Punchhole.Tests.Protocol;

/// <summary>HAProxy's PROXY protocol, versions 1 and 2, as the specification words it: every valid form, every malformed one.</summary>
public class ProxyHeaderTests
{
    private static readonly byte[] s_key = RendezvousClient.NewKey();

    private static (ProxyHeaderStatus Status, int Length, PeerAddress Source) Parse(byte[] data)
    {
        var status = ProxyHeader.Parse(data, out int length, out var source);
        return (status, length, source);
    }

    private static IPEndPoint EndPoint(PeerAddress address) => new(address.ToIPAddress(), address.Port);

    /// <summary>Every proper prefix is Incomplete; the whole, followed by a key, is the expected status and exactly the header's length.</summary>
    private static PeerAddress AssertHeader(byte[] header, ProxyHeaderStatus expected)
    {
        for (int i = 0; i < header.Length; i++)
        {
            Assert.Equal(ProxyHeaderStatus.Incomplete, ProxyHeader.Parse(header.AsSpan(0, i), out _, out _));
        }
        var (status, length, source) = Parse([.. header, .. s_key]);
        Assert.Equal(expected, status);
        Assert.Equal(header.Length, length);
        return source;
    }

    private static void AssertInvalid(byte[] data) => Assert.Equal(ProxyHeaderStatus.Invalid, Parse(data).Status);

    [Theory]
    [InlineData("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443", "192.168.0.1", 56324)]
    [InlineData("PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535", "255.255.255.255", 65535)]
    [InlineData("PROXY TCP4 0.0.0.0 0.0.0.0 0 0", "0.0.0.0", 0)]
    [InlineData("PROXY TCP6 2001:db8::7 2001:db8::1 40001 3477", "2001:db8::7", 40001)]
    [InlineData("PROXY TCP6 2001:0DB8:0000:0000:0000:0000:0000:0007 ::1 1 2", "2001:db8::7", 1)]
    [InlineData("PROXY TCP6 ::ffff:198.51.100.20 ::ffff:10.0.0.1 35943 3477", "198.51.100.20", 35943)]
    public void Version_1_TCP_lines_give_the_source_address_and_port(string line, string address, int port)
    {
        var source = AssertHeader(ProxyHeaders.V1(line), ProxyHeaderStatus.Proxied);
        Assert.Equal(new IPEndPoint(IPAddress.Parse(address), port), EndPoint(source));
    }

    [Fact]
    public void An_IPv4_mapped_TCP6_source_is_held_as_IPv4_so_replies_read_as_a_dotted_quad()
    {
        var source = AssertHeader(ProxyHeaders.V1("PROXY TCP6 ::ffff:198.51.100.20 ::1 35943 3477"), ProxyHeaderStatus.Proxied);
        Assert.True(source.IsIPv4);
        Assert.Equal("198.51.100.20 35943", source.ToString());
    }

    [Fact]
    public void The_longest_lines_of_the_specification_are_accepted_the_107_byte_bound_included()
    {
        string full = string.Join(':', Enumerable.Repeat("ffff", 8));
        byte[] tcp6 = ProxyHeaders.V1($"PROXY TCP6 {full} {full} 65535 65535");
        Assert.Equal(104, tcp6.Length);
        AssertHeader(tcp6, ProxyHeaderStatus.Proxied);
        byte[] unknown = ProxyHeaders.V1($"PROXY UNKNOWN {full} {full} 65535 65535");
        Assert.Equal(ProxyHeader.MaxV1Length, unknown.Length);
        AssertHeader(unknown, ProxyHeaderStatus.Unknown);
    }

    [Fact]
    public void A_line_whose_CRLF_ends_past_byte_107_is_invalid_as_soon_as_107_bytes_are_in()
    {
        string full = string.Join(':', Enumerable.Repeat("ffff", 8));
        byte[] line = ProxyHeaders.V1($"PROXY UNKNOWN {full} {full} 65535 655350");
        Assert.Equal(108, line.Length);
        Assert.Equal(ProxyHeaderStatus.Incomplete, Parse(line[..106]).Status);
        AssertInvalid(line[..107]);
        AssertInvalid(line);
        // Bytes that never end the line are refused at the bound too.
        AssertInvalid(Encoding.ASCII.GetBytes("PROXY TCP4 " + new string('1', 200)));
    }

    [Theory]
    [InlineData("PROXY UNKNOWN")]
    [InlineData("PROXY UNKNOWN 1.2.3.4 5.6.7.8 1 2")]
    [InlineData("PROXY UNKNOWN anything at all, ignored up to the CRLF")]
    public void UNKNOWN_lines_are_accepted_with_no_address(string line) =>
        AssertHeader(ProxyHeaders.V1(line), ProxyHeaderStatus.Unknown);

    [Theory]
    [InlineData("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n")]            // LF alone
    [InlineData("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r")]            // CR alone, then the key
    [InlineData("PROXY TCP4 1.2.3.4 5.6.7.8 1\r2\r\n")]         // CR inside the line
    [InlineData("PROXY TCP4 1.2.3.4 5.6.7.8 1\n2\r\n")]         // LF inside the line
    [InlineData("PROXY UNKNOWN x\ny\r\n")]                      // even in an UNKNOWN line
    [InlineData("PROXY  TCP4 1.2.3.4 5.6.7.8 1 2\r\n")]         // two spaces
    [InlineData("PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n")]
    [InlineData("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n")]         // trailing space
    [InlineData("PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n")]            // a field missing
    [InlineData("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n")]        // a field too many
    [InlineData("PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n")]         // leading zero in an octet
    [InlineData("PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n")]         // leading zero in a port
    [InlineData("PROXY TCP4 1.2.3.4 5.6.7.8 1 02\r\n")]
    [InlineData("PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n")]        // octet past 255
    [InlineData("PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n")]            // three octets
    [InlineData("PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n")]      // port past 65535
    [InlineData("PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n")]
    [InlineData("PROXY TCP4 1.2.3.4 5.6.7.8 +1 2\r\n")]
    [InlineData("PROXY TCP4 2001:db8::1 2001:db8::2 1 2\r\n")]  // IPv6 in TCP4
    [InlineData("PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n")]          // IPv4 in TCP6
    [InlineData("PROXY TCP6 2001:db8::1 5.6.7.8 1 2\r\n")]      // families mixed
    [InlineData("PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n")]         // a zone
    [InlineData("PROXY TCP6 2001:db8:::1 ::1 1 2\r\n")]
    [InlineData("PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n")]          // no such protocol
    [InlineData("PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n")]          // case matters
    [InlineData("PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n")]
    [InlineData("PROXY UNKNOWNX\r\n")]
    [InlineData("PROXY \r\n")]
    [InlineData("PROXY\r\n")]
    [InlineData("proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n")]
    [InlineData("PROXYTCP4 1.2.3.4 5.6.7.8 1 2\r\n")]
    [InlineData("GET /metrics HTTP/1.1\r\n")]
    [InlineData("\r\n")]
    public void Malformed_version_1_lines_are_invalid(string text) => AssertInvalid([.. Encoding.ASCII.GetBytes(text), .. s_key]);

    [Fact]
    public void A_lone_CR_or_LF_is_refused_at_once_without_waiting_for_107_bytes()
    {
        AssertInvalid(Encoding.ASCII.GetBytes("PROXY TCP4 1.2\n"));
        AssertInvalid(Encoding.ASCII.GetBytes("PROXY TCP4 1.2\rx"));
        // A CR as the last byte so far may be followed by its LF.
        Assert.Equal(ProxyHeaderStatus.Incomplete, Parse(Encoding.ASCII.GetBytes("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r")).Status);
    }

    [Fact]
    public void A_raw_key_or_anything_but_a_header_is_invalid_never_taken_for_data()
    {
        // Never guess: a connection that should start with a header but starts with a key is dropped.
        AssertInvalid(s_key.Select(b => b == (byte)'P' || b == 0x0D ? (byte)0 : b).ToArray());
        AssertInvalid([0x16, 0x03, 0x01]);
        AssertInvalid("PRO"u8.ToArray().Append((byte)'Z').ToArray());
    }

    [Theory]
    [InlineData("198.51.100.20", 35943, "10.0.0.1", 3477)]
    [InlineData("2001:db8::7", 40001, "2001:db8::1", 3477)]
    [InlineData("::ffff:198.51.100.20", 1, "::ffff:10.0.0.1", 2)]
    public void Version_2_PROXY_over_TCP_gives_the_source_address_and_port(string address, int port, string destination, int destinationPort)
    {
        var from = new IPEndPoint(IPAddress.Parse(address), port);
        var source = AssertHeader(ProxyHeaders.V2(from, new IPEndPoint(IPAddress.Parse(destination), destinationPort)), ProxyHeaderStatus.Proxied);
        var expected = from.Address.IsIPv4MappedToIPv6 ? new IPEndPoint(from.Address.MapToIPv4(), port) : from;
        Assert.Equal(expected, EndPoint(source));
    }

    [Fact]
    public void Version_2_TLVs_are_skipped_and_the_header_ends_where_its_length_says()
    {
        byte[] tlvs = [.. ProxyHeaders.Tlv(0x04, [0, 0, 0]), .. ProxyHeaders.Tlv(0x05, new byte[128]), .. ProxyHeaders.Tlv(0xE0, [1])];
        var from = new IPEndPoint(IPAddress.Parse("198.51.100.20"), 35943);
        var source = AssertHeader(ProxyHeaders.V2(from, new IPEndPoint(IPAddress.Loopback, 3477), tlvs), ProxyHeaderStatus.Proxied);
        Assert.Equal(from, EndPoint(source));
    }

    [Fact]
    public void Version_2_headers_up_to_536_bytes_are_read_and_longer_ones_refused_from_their_fixed_part()
    {
        var from = new IPEndPoint(IPAddress.Parse("198.51.100.20"), 35943);
        var to = new IPEndPoint(IPAddress.Loopback, 3477);
        byte[] longest = ProxyHeaders.V2(from, to, ProxyHeaders.Tlv(0x04, new byte[ProxyHeader.MaxLength - 16 - 12 - 3]));
        Assert.Equal(ProxyHeader.MaxLength, longest.Length);
        AssertHeader(longest, ProxyHeaderStatus.Proxied);
        byte[] tooLong = ProxyHeaders.V2(from, to, ProxyHeaders.Tlv(0x04, new byte[ProxyHeader.MaxLength - 16 - 12 - 2]));
        // Refused as soon as the length is read, before the rest arrives.
        AssertInvalid(tooLong[..16]);
        AssertInvalid(tooLong);
    }

    [Fact]
    public void Version_2_LOCAL_is_the_proxys_own_connection_whatever_its_family_and_addresses()
    {
        AssertHeader(ProxyHeaders.V2Local(), ProxyHeaderStatus.Local);
        // Receivers must skip what the length announces, and ignore the family.
        AssertHeader(ProxyHeaders.V2(0, 0x11, new byte[12]), ProxyHeaderStatus.Local);
        AssertHeader(ProxyHeaders.V2(0, 0xFF, new byte[5]), ProxyHeaderStatus.Local);
    }

    [Theory]
    [InlineData(0x00, 0)]      // AF_UNSPEC, UNSPEC
    [InlineData(0x01, 0)]      // AF_UNSPEC, STREAM
    [InlineData(0x10, 12)]     // AF_INET, UNSPEC
    [InlineData(0x12, 12)]     // UDP over IPv4
    [InlineData(0x22, 36)]     // UDP over IPv6
    [InlineData(0x31, 216)]    // UNIX stream
    [InlineData(0x32, 216)]    // UNIX datagram
    public void Version_2_PROXY_with_an_unspecified_or_unsupported_family_falls_back_to_UNSPEC(byte family, int block) =>
        AssertHeader(ProxyHeaders.V2(1, family, new byte[block]), ProxyHeaderStatus.Unknown);

    [Theory]
    [InlineData(0x11, 0x11, 12)]    // version 1
    [InlineData(0x31, 0x11, 12)]    // version 3
    [InlineData(0x01, 0x11, 12)]    // version 0
    [InlineData(0x22, 0x11, 12)]    // command 2
    [InlineData(0x2F, 0x11, 12)]    // command 15
    [InlineData(0x21, 0x41, 12)]    // family 4
    [InlineData(0x21, 0x13, 12)]    // protocol 3
    [InlineData(0x21, 0xF1, 12)]
    [InlineData(0x21, 0x11, 11)]    // IPv4 addresses cut short
    [InlineData(0x21, 0x21, 12)]    // IPv6 addresses cut short
    [InlineData(0x21, 0x31, 108)]   // UNIX addresses cut short
    [InlineData(0x21, 0x12, 0)]
    public void Malformed_version_2_headers_are_invalid(byte versionCommand, byte family, int block)
    {
        byte[] header = ProxyHeaders.V2(1, family, new byte[block]);
        header[12] = versionCommand;
        AssertInvalid([.. header, .. s_key]);
    }

    [Fact]
    public void A_version_2_signature_wrong_in_any_byte_is_invalid_from_that_byte()
    {
        byte[] good = ProxyHeaders.V2(new IPEndPoint(IPAddress.Loopback, 1), new IPEndPoint(IPAddress.Loopback, 2));
        for (int i = 1; i < 12; i++)
        {
            byte[] bad = (byte[])good.Clone();
            bad[i] ^= 0x40;
            Assert.Equal(ProxyHeaderStatus.Incomplete, Parse(bad[..i]).Status);
            AssertInvalid(bad[..(i + 1)]);
        }
    }

    [Fact]
    public void Nothing_yet_is_incomplete()
    {
        var (status, length, _) = Parse([]);
        Assert.Equal(ProxyHeaderStatus.Incomplete, status);
        Assert.Equal(0, length);
        // Version 2 announces its length from its 16th byte on.
        byte[] header = ProxyHeaders.V2(new IPEndPoint(IPAddress.Loopback, 1), new IPEndPoint(IPAddress.Loopback, 2));
        Assert.Equal(28, Parse(header[..16]).Length);
    }
}
