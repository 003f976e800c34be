using System.Net.Sockets;
using Xunit.Abstractions;

namespace Punchhole.Tests.NatLab;

/// <summary>Variant 3: a NAT (and IPv6 firewall) that answers an unsolicited inbound SYN with RST.</summary>
[Collection(NatLabCollection.Name)]
public partial class RstNatTests(ResetLab fixture, ITestOutputHelper output) : IClassFixture<ResetLab>
{
    private const AddressFamily V4 = AddressFamily.InterNetwork;

    [SkippableFact(Timeout = 60_000)]
    public async Task Tstun_tells_each_client_the_other_routers_address_with_the_local_port_kept()
    {
        await LabChecks.BothClientsReachTStunAsync(fixture.Lab, V4, portKept: true);
    }

    [SkippableTheory(Timeout = 60_000)]
    [InlineData(AddressFamily.InterNetwork)]
    [InlineData(AddressFamily.InterNetworkV6)]
    public async Task An_unsolicited_SYN_is_answered_with_RST(AddressFamily family)
    {
        Assert.Equal(ConnectOutcome.Refused, await LabChecks.UnsolicitedSynToClientAAsync(fixture.Lab, family));
    }

    [SkippableFact(Timeout = 60_000)]
    public async Task The_original_clients_single_connect_is_refused_here()
    {
        var lab = fixture.Lab;
        using var attempt = await LabChecks.OriginalAlgorithmAsync(lab, V4, lab.ClientB, TimeSpan.FromSeconds(3));
        Assert.True(attempt.FirstOutcome == ConnectOutcome.Refused, $"{attempt.FirstOutcome}/{attempt.SecondOutcome}\n{lab.Dump()}");
        Assert.NotEqual(ConnectOutcome.Connected, attempt.SecondOutcome);
    }
}
