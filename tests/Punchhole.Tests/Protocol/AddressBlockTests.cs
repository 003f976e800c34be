using System.Net;
using Punchhole.Protocol;

namespace Punchhole.Tests.Protocol;

public class AddressBlockTests
{
    private static PeerAddress At(string address) => PeerAddress.FromEndPoint(new IPEndPoint(IPAddress.Parse(address), 1));

    private static AddressBlock Block(string text)
    {
        Assert.True(AddressBlock.TryParse(text, out var block, out string? error), error);
        return block;
    }

    [Theory]
    [InlineData("10.0.0.0/8", "10.255.1.2", true)]
    [InlineData("10.0.0.0/8", "11.0.0.1", false)]
    [InlineData("10.0.0.0/8", "::ffff:10.1.2.3", true)]          // IPv4 seen on a dual-stack socket
    [InlineData("127.0.0.1", "127.0.0.1", true)]                  // one address is a /32
    [InlineData("127.0.0.1", "127.0.0.2", false)]
    [InlineData("0.0.0.0/0", "198.51.100.7", true)]
    [InlineData("0.0.0.0/0", "2001:db8::1", false)]               // every IPv4 address, and only those
    [InlineData("2001:db8::/32", "2001:db8:ffff::1", true)]
    [InlineData("2001:db8::/32", "2001:db9::1", false)]
    [InlineData("2001:db8::/32", "198.51.100.7", false)]
    [InlineData("::/0", "2001:db8::1", true)]
    [InlineData("::/0", "198.51.100.7", true)]                    // IPv4-mapped addresses are IPv6 addresses too
    [InlineData("::ffff:0:0/96", "198.51.100.7", true)]
    [InlineData("::1", "::1", true)]
    [InlineData("2001:db8::1/128", "2001:db8::2", false)]
    [InlineData("2001:db8:0:0:8000::/65", "2001:db8::8000:0:0:1", true)]
    [InlineData("2001:db8:0:0:8000::/65", "2001:db8::7fff:0:0:1", false)]
    public void Contains_matches_the_prefix_with_IPv4_mapped_addresses_as_IPv4(string block, string address, bool expected) =>
        Assert.Equal(expected, Block(block).Contains(At(address)));

    [Theory]
    [InlineData("10.0.0.0/8", "10.0.0.0/8")]
    [InlineData("127.0.0.1", "127.0.0.1/32")]
    [InlineData("2001:DB8::/32", "2001:db8::/32")]
    [InlineData("::ffff:10.0.0.0/104", "::ffff:10.0.0.0/104")]
    public void Prints_as_CIDR(string text, string expected) => Assert.Equal(expected, Block(text).ToString());

    [Theory]
    [InlineData("", "is not an IP address")]
    [InlineData("example.org", "is not an IP address")]
    [InlineData("10.0.0.0/", "prefix length")]
    [InlineData("10.0.0.0/33", "prefix length that is not 0 to 32")]
    [InlineData("10.0.0.0/-1", "prefix length")]
    [InlineData("10.0.0.0/08", "prefix length")]
    [InlineData("10.0.0.0/8/8", "prefix length")]
    [InlineData("2001:db8::/129", "not 0 to 128")]
    [InlineData("10.0.0.1/8", "bits set past its /8")]
    [InlineData("2001:db8::1/32", "bits set past its /32")]
    [InlineData("fe80::1%2/64", "is not an IP address")]
    [InlineData("10.0.0.0 /8", "is not an IP address")]
    public void Bad_blocks_are_refused_with_a_reason(string text, string reason)
    {
        Assert.False(AddressBlock.TryParse(text, out _, out string? error));
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("198.51.100.7", "198.51.100.7")]
    [InlineData("::ffff:198.51.100.7", "198.51.100.7")]
    [InlineData("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::")]
    [InlineData("2001:db8:1:2::ffff", "2001:db8:1:2::")]
    public void A_source_block_is_an_IPv4_address_or_an_IPv6_slash_64(string address, string block)
    {
        var source = At(address).SourceBlock();
        Assert.Equal(At(block).WithPort(0), source);
        Assert.Equal(0, source.Port);
    }
}
