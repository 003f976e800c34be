using System.Net;
using System.Text;
using Punchhole.Protocol;

namespace Punchhole.Tests.Protocol;

public class PeerReplyTests
{
    private static string Format(IPEndPoint endPoint)
    {
        var text = new byte[TStun.MaxReplyLength];
        return Encoding.ASCII.GetString(text, 0, PeerReply.Format(PeerAddress.FromEndPoint(endPoint), text));
    }

    [Theory]
    [InlineData("198.51.100.20", 35943, "198.51.100.20 35943")]
    [InlineData("::ffff:198.51.100.20", 35943, "198.51.100.20 35943")]
    [InlineData("2001:db8::7", 40001, "2001:db8::7 40001")]
    [InlineData("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535")]
    public void Formats_ADDR_space_PORT_with_no_newline(string address, int port, string expected)
    {
        string reply = Format(new IPEndPoint(IPAddress.Parse(address), port));
        Assert.Equal(expected, reply);
        Assert.True(reply.Length <= TStun.MaxReplyLength);
    }

    [Theory]
    [InlineData("198.51.100.20 35943", "198.51.100.20", 35943)]
    [InlineData("2001:db8::7 40001", "2001:db8::7", 40001)]
    [InlineData("  198.51.100.20\t35943\n", "198.51.100.20", 35943)]
    [InlineData("198.51.100.20 35943 extra tokens", "198.51.100.20", 35943)]
    [InlineData("::ffff:198.51.100.20 1", "198.51.100.20", 1)]
    public void Parses_the_first_two_tokens(string reply, string address, int port)
    {
        Assert.True(PeerReply.TryParse(Encoding.ASCII.GetBytes(reply), out var peer));
        Assert.Equal(new IPEndPoint(IPAddress.Parse(address), port), new IPEndPoint(peer.ToIPAddress(), peer.Port));
    }

    [Theory]
    [InlineData("")]
    [InlineData("198.51.100.20")]
    [InlineData("198.51.100.20 0")]
    [InlineData("198.51.100.20 65536")]
    [InlineData("198.51.100.20 123456")]
    [InlineData("198.51.100.20 -1")]
    [InlineData("198.51.100.20 +80")]
    [InlineData("198.51.100.20 8o")]
    [InlineData("host.example 80")]
    [InlineData("198.51.100.20:80")]
    public void Rejects_replies_a_client_cannot_use(string reply) =>
        Assert.False(PeerReply.TryParse(Encoding.ASCII.GetBytes(reply), out _), reply);

    [Fact]
    public void Round_trips_random_endpoints()
    {
        var bytes = new byte[16];
        for (int i = 0; i < 2000; i++)
        {
            Random.Shared.NextBytes(bytes);
            var endPoint = new IPEndPoint(i % 2 == 0 ? new IPAddress(bytes) : new IPAddress(bytes.AsSpan(0, 4)), Random.Shared.Next(1, 65536));
            Assert.True(PeerReply.TryParse(Encoding.ASCII.GetBytes(Format(endPoint)), out var back));
            Assert.Equal(PeerAddress.FromEndPoint(endPoint), back);
        }
    }
}
