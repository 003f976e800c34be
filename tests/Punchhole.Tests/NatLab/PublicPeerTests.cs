using System.Net.Sockets;

namespace Punchhole.Tests.NatLab;

/// <summary>Variant 5: client B has a public address on the internet itself (no NAT); client A is behind the drop NAT.</summary>
[Collection(NatLabCollection.Name)]
public partial class PublicPeerTests(PublicPeerLab fixture) : IClassFixture<PublicPeerLab>
{
    private const AddressFamily V4 = AddressFamily.InterNetwork;

    [SkippableFact(Timeout = 60_000)]
    public async Task Tstun_tells_the_NATed_client_the_peers_own_address()
    {
        var lab = fixture.Lab;
        var (peerOfA, peerOfB, _, _) = await LabChecks.BothClientsReachTStunAsync(lab, V4, portKept: true);
        Assert.Equal("198.51.100.34", peerOfA.Address.ToString());
        Assert.Equal("198.51.100.18", peerOfB.Address.ToString());
    }

    [SkippableFact(Timeout = 60_000)]
    public async Task A_simultaneous_open_connects_when_the_public_peer_sends_first()
    {
        var lab = fixture.Lab;
        using var attempt = await LabChecks.OriginalAlgorithmAsync(lab, V4, lab.ClientB, TimeSpan.FromSeconds(5));
        Assert.True(attempt.FirstOutcome == ConnectOutcome.Connected && attempt.SecondOutcome == ConnectOutcome.Connected,
            $"{attempt.FirstOutcome}/{attempt.SecondOutcome}\n{lab.Dump()}");
        await LabSockets.ExchangeAsync(attempt.First, attempt.Second);
    }
}
