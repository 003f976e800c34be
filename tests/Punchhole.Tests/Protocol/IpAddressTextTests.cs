using System.Net;
using System.Text;
using Punchhole.Protocol;

namespace Punchhole.Tests.Protocol;

public class IpAddressTextTests
{
    private static string Format(IPAddress address)
    {
        var bytes = address.GetAddressBytes();
        Assert.True(IpAddressText.TryReadBytes(bytes, out ulong high, out ulong low));
        var text = new byte[IpAddressText.MaxLength];
        return Encoding.ASCII.GetString(text, 0, IpAddressText.Format(high, low, text));
    }

    [Theory]
    [InlineData("198.51.100.20", "198.51.100.20")]
    [InlineData("0.0.0.0", "0.0.0.0")]
    [InlineData("255.255.255.255", "255.255.255.255")]
    [InlineData("::ffff:198.51.100.20", "198.51.100.20")]
    [InlineData("::", "::")]
    [InlineData("::1", "::1")]
    [InlineData("1::", "1::")]
    [InlineData("2001:db8::7", "2001:db8::7")]
    [InlineData("2001:DB8:0:0:1:0:0:1", "2001:db8::1:0:0:1")]
    [InlineData("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1")]
    [InlineData("2001:0:0:1:0:0:0:1", "2001:0:0:1::1")]
    [InlineData("fe80::1:2:3:4", "fe80::1:2:3:4")]
    [InlineData("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")]
    public void Formats_RFC_5952_text_and_strips_the_v4_mapped_prefix(string input, string expected) =>
        Assert.Equal(expected, Format(IPAddress.Parse(input)));

    [Fact]
    public void Agrees_with_the_platform_on_random_IPv6_addresses()
    {
        var bytes = new byte[16];
        for (int i = 0; i < 5000; i++)
        {
            Random.Shared.NextBytes(bytes);
            // Zero some words so that "::" runs of every length appear.
            for (int w = 0; w < 8; w++)
            {
                if (Random.Shared.Next(3) == 0)
                {
                    bytes[2 * w] = bytes[2 * w + 1] = 0;
                }
            }
            var address = new IPAddress(bytes);
            string platform = address.ToString();
            string ours = Format(address);
            if (address.IsIPv4MappedToIPv6)
            {
                Assert.Equal(address.MapToIPv4().ToString(), ours);
            }
            else if (!platform.Contains('.', StringComparison.Ordinal))
            {
                // .NET writes a few ranges with an embedded dotted quad; RFC 5952 hex is just as valid.
                Assert.Equal(platform, ours);
            }
            Assert.Equal(address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address, IPAddress.Parse(ours));
        }
    }

    [Theory]
    [InlineData("198.51.100.20")]
    [InlineData("::")]
    [InlineData("::1")]
    [InlineData("1::")]
    [InlineData("1::2")]
    [InlineData("2001:db8::7")]
    [InlineData("2001:0db8:0000:0000:0000:0000:0000:0007")]
    [InlineData("::ffff:1.2.3.4")]
    [InlineData("64:ff9b::198.51.100.1")]
    [InlineData("1:2:3:4:5:6:7:8")]
    [InlineData("1:2:3:4:5:6:1.2.3.4")]
    [InlineData("::2:3:4:5:6:7:8")]
    [InlineData("1:2:3:4:5:6:7::")]
    public void Parses_what_the_platform_parses(string text)
    {
        Assert.True(IpAddressText.TryParse(Encoding.ASCII.GetBytes(text), out ulong high, out ulong low), text);
        var expected = IPAddress.Parse(text);
        var ours = new PeerAddress(high, low, 1).ToIPAddress();
        Assert.Equal(expected.IsIPv4MappedToIPv6 ? expected.MapToIPv4() : expected, ours);
    }

    [Theory]
    [InlineData("")]
    [InlineData(":")]
    [InlineData(":::")]
    [InlineData("1:::2")]
    [InlineData("1::2::3")]
    [InlineData("1:2:3:4:5:6:7:8:9")]
    [InlineData("1:2:3:4:5:6:7:8::")]
    [InlineData("1:2:3:4::5:6:7:8")]
    [InlineData("12345::")]
    [InlineData("1:")]
    [InlineData(":1")]
    [InlineData("g::")]
    [InlineData("1.2.3")]
    [InlineData("1.2.3.4.5")]
    [InlineData("256.1.1.1")]
    [InlineData("01.2.3.4")]
    [InlineData("1.2.3.4 ")]
    [InlineData("1:2:3:4:5:6:7:1.2.3.4")]
    [InlineData("::1.2.3")]
    [InlineData("fe80::1%eth0")]
    [InlineData("[::1]")]
    public void Rejects_what_is_not_an_address(string text) =>
        Assert.False(IpAddressText.TryParse(Encoding.ASCII.GetBytes(text), out _, out _), text);

    [Fact]
    public void Anything_it_accepts_the_platform_reads_the_same_way()
    {
        // Random strings over the address alphabet: whatever we accept, .NET must accept as the same address.
        const string alphabet = "0123456789abcdefABCDEF:.";
        var text = new char[48];
        int accepted = 0;
        for (int i = 0; i < 200_000; i++)
        {
            int length = Random.Shared.Next(1, text.Length);
            for (int c = 0; c < length; c++)
            {
                text[c] = alphabet[Random.Shared.Next(alphabet.Length)];
            }
            var s = new string(text, 0, length);
            if (IpAddressText.TryParse(Encoding.ASCII.GetBytes(s), out ulong high, out ulong low))
            {
                accepted++;
                Assert.True(IPAddress.TryParse(s, out var platform), s);
                Assert.Equal(platform!.IsIPv4MappedToIPv6 ? platform.MapToIPv4() : platform, new PeerAddress(high, low, 1).ToIPAddress());
            }
        }
        Assert.True(accepted > 0);
    }
}
