using System.Net;
using Punchhole.Protocol;
using Punchhole.Server;

namespace Punchhole.Tests.Server;

public class WaitingSharesTests
{
    private static PeerAddress At(string address, int port = 1) => PeerAddress.FromEndPoint(new IPEndPoint(IPAddress.Parse(address), port));

    [Fact]
    public void A_source_gets_exactly_its_share_and_gets_it_back_as_its_clients_leave()
    {
        var shares = new WaitingShares(limit: 5, maxWaiting: 1000);
        for (int i = 0; i < 5; i++)
        {
            Assert.True(shares.TryEnter(At("198.51.100.7", 1000 + i)));
        }
        Assert.False(shares.TryEnter(At("198.51.100.7", 2000)));
        Assert.False(shares.TryEnter(At("::ffff:198.51.100.7", 2001)));
        // Refusals count nothing: one leaving makes room for exactly one.
        shares.Leave(At("198.51.100.7", 1000));
        Assert.True(shares.TryEnter(At("198.51.100.7", 2002)));
        Assert.False(shares.TryEnter(At("198.51.100.7", 2003)));
    }

    [Fact]
    public void An_IPv6_slash_64_is_one_source_and_another_slash_64_is_another()
    {
        var shares = new WaitingShares(limit: 3, maxWaiting: 1000);
        Assert.True(shares.TryEnter(At("2001:db8:1:2::1")));
        Assert.True(shares.TryEnter(At("2001:db8:1:2::2")));
        Assert.True(shares.TryEnter(At("2001:db8:1:2:ffff:ffff:ffff:ffff")));
        Assert.False(shares.TryEnter(At("2001:db8:1:2:1234::9")));
        Assert.True(shares.TryEnter(At("2001:db8:1:3::1")));
    }

    [Fact]
    public void A_source_at_its_share_does_not_refuse_thousands_of_others()
    {
        // The counters are shared by hash: a full source must not push honest ones over the cap.
        var shares = new WaitingShares(limit: 100, maxWaiting: 50_000);
        var flooder = At("127.0.0.1");
        for (int i = 0; i < 100; i++)
        {
            Assert.True(shares.TryEnter(flooder));
        }
        Assert.False(shares.TryEnter(flooder));
        int refused = 0;
        for (int i = 0; i < 10_000; i++)
        {
            var honest = new PeerAddress(0, 0xFFFF_0A00_0000UL + (ulong)i, 1);
            refused += shares.TryEnter(honest) ? 0 : 1;
        }
        Assert.Equal(0, refused);
    }
}
