using System.Net.Sockets;
using Punchhole.NatLab;

namespace Punchhole.Tests.NatLab;

/// <summary>Variant 1: port-preserving IPv4 NAT that silently drops unsolicited inbound SYNs (RFC 5382 REQ-4).</summary>
[Collection(NatLabCollection.Name)]
public partial class DropNatTests(DropLab fixture) : IClassFixture<DropLab>
{
    private const AddressFamily V4 = AddressFamily.InterNetwork;

    [SkippableFact(Timeout = 60_000)]
    public async Task Tstun_tells_each_client_the_other_routers_address_with_the_local_port_kept()
    {
        var lab = fixture.Lab;
        var (peerOfA, peerOfB, _, _) = await LabChecks.BothClientsReachTStunAsync(lab, V4, portKept: true);
        Assert.Equal("198.51.100.34", peerOfA.Address.ToString());
        Assert.Equal("198.51.100.18", peerOfB.Address.ToString());
    }

    [SkippableFact(Timeout = 60_000)]
    public async Task Forwarding_is_on_in_the_router_namespaces_only()
    {
        var lab = fixture.Lab;
        await Task.Yield();
        foreach (var host in lab.Hosts)
        {
            string expected = lab.Forwarders.Contains(host) ? "1" : "0";
            Assert.Equal(expected, NetNs.ReadSysctl(host.Namespace, "net.ipv4.ip_forward"));
            Assert.Equal(expected, NetNs.ReadSysctl(host.Namespace, "net.ipv6.conf.all.forwarding"));
        }
    }

    [SkippableFact(Timeout = 60_000)]
    public async Task An_unsolicited_SYN_is_dropped_without_an_answer()
    {
        var lab = fixture.Lab;
        long before = LabChecks.RulePackets(lab.RouterA, "iptables", "INPUT", "DROP ");
        Assert.Equal(ConnectOutcome.TimedOut, await LabChecks.UnsolicitedSynToClientAAsync(lab, V4));
        Assert.True(LabChecks.RulePackets(lab.RouterA, "iptables", "INPUT", "DROP ") > before, lab.Dump());
    }

    [SkippableFact(Timeout = 60_000)]
    public async Task A_simultaneous_open_crosses_both_NATs_when_the_first_SYN_was_dropped()
    {
        var lab = fixture.Lab;
        using var attempt = await LabChecks.OriginalAlgorithmAsync(lab, V4, lab.ClientB, TimeSpan.FromSeconds(5));
        Assert.True(attempt.FirstOutcome == ConnectOutcome.Connected && attempt.SecondOutcome == ConnectOutcome.Connected,
            $"{attempt.FirstOutcome}/{attempt.SecondOutcome}\n{lab.Dump()}");
        Assert.Equal(attempt.PeerOfFirst, attempt.First.RemoteEndPoint);
        await LabSockets.ExchangeAsync(attempt.First, attempt.Second);
    }
}
