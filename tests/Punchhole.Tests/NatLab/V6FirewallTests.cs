using System.Net.Sockets;

namespace Punchhole.Tests.NatLab;

/// <summary>Variant 2: IPv6 routed without NAT through stateful firewalls that drop unsolicited inbound SYNs.</summary>
[Collection(NatLabCollection.Name)]
public partial class V6FirewallTests(DropLab fixture) : IClassFixture<DropLab>
{
    private const AddressFamily V6 = AddressFamily.InterNetworkV6;

    [SkippableFact(Timeout = 60_000)]
    public async Task Tstun_tells_each_client_the_others_own_address_and_port()
    {
        var lab = fixture.Lab;
        var (peerOfA, peerOfB, _, _) = await LabChecks.BothClientsReachTStunAsync(lab, V6, portKept: true);
        Assert.Equal("2001:db8:2::2", peerOfA.Address.ToString());
        Assert.Equal("2001:db8:1::2", peerOfB.Address.ToString());
    }

    [SkippableFact(Timeout = 60_000)]
    public async Task An_unsolicited_SYN_is_dropped_by_the_firewall_without_an_answer()
    {
        var lab = fixture.Lab;
        Assert.Equal(ConnectOutcome.TimedOut, await LabChecks.UnsolicitedSynToClientAAsync(lab, V6));
    }

    [SkippableFact(Timeout = 60_000)]
    public async Task A_simultaneous_open_crosses_both_firewalls_when_the_first_SYN_was_dropped()
    {
        var lab = fixture.Lab;
        using var attempt = await LabChecks.OriginalAlgorithmAsync(lab, V6, lab.ClientA, TimeSpan.FromSeconds(5));
        Assert.True(attempt.FirstOutcome == ConnectOutcome.Connected && attempt.SecondOutcome == ConnectOutcome.Connected,
            $"{attempt.FirstOutcome}/{attempt.SecondOutcome}\n{lab.Dump()}");
        await LabSockets.ExchangeAsync(attempt.First, attempt.Second);
    }
}
