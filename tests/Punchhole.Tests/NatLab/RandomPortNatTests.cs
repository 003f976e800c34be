using System.Net;
using System.Net.Sockets;
using Punchhole.NatLab;

namespace Punchhole.Tests.NatLab;

/// <summary>Variant 4: a symmetric NAT (MASQUERADE --random-fully): a random external port per connection.</summary>
[Collection(NatLabCollection.Name)]
public partial class RandomPortNatTests(RandomPortLab fixture) : IClassFixture<RandomPortLab>
{
    private const AddressFamily V4 = AddressFamily.InterNetwork;

    [SkippableFact(Timeout = 60_000)]
    public async Task One_local_port_gets_a_different_external_port_for_each_destination()
    {
        var lab = fixture.Lab;
        using var stop = new CancellationTokenSource();
        var second = new IPEndPoint(Lab.ServerV4, Lab.TStunPort + 1);
        using var listener = LabSockets.StartEchoAddressServer(lab.Server, V4, second.Port, stop.Token);
        bool differs = false;
        // Two local ports, each to two destinations: a false failure needs two 1-in-~28,000 coincidences.
        for (int i = 0; i < 2 && !differs; i++)
        {
            using var hold = LabSockets.Bound(lab.ClientA, V4);
            var (_, peerOfB) = await LabSockets.PairAsync(lab.ClientA, hold.Port(), lab.ClientB, 0, V4);
            var observed = await LabSockets.ObservedFromAsync(lab.ClientA, V4, hold.Port(), second);
            Assert.Equal(lab.RouterA.V4, peerOfB.Address);
            Assert.Equal(lab.RouterA.V4, observed.Address);
            differs = observed.Port != peerOfB.Port;
        }
        await stop.CancelAsync();
        Assert.True(differs, "the NAT kept one external port for two destinations");
    }

    [SkippableFact(Timeout = 60_000)]
    public async Task A_simultaneous_open_to_the_endpoints_tstun_saw_gets_nowhere()
    {
        var lab = fixture.Lab;
        using var attempt = await LabChecks.OriginalAlgorithmAsync(lab, V4, lab.ClientB, TimeSpan.FromSeconds(3));
        Assert.Equal(ConnectOutcome.TimedOut, attempt.FirstOutcome);
        Assert.Equal(ConnectOutcome.TimedOut, attempt.SecondOutcome);
    }
}
