using System.Net.Sockets;
using Punchhole.NatLab;

namespace Punchhole.Tests.NatLab;

/// <summary>router-a drops unsolicited SYNs, router-b resets them (IPv4 NATs and IPv6 firewalls alike).</summary>
public sealed class MixedLab() : LabFixture(LabVariant.Mixed);

/// <summary>
/// The mixed lab: one side behind a dropping NAT, the other behind a resetting one. The punches
/// run over a path with delay (<see cref="PathDelay"/>), as real ones do.
/// </summary>
[Collection(NatLabCollection.Name)]
public class MixedNatTests(MixedLab fixture) : IClassFixture<MixedLab>
{
    [SkippableTheory(Timeout = 60_000)]
    [InlineData(AddressFamily.InterNetwork)]
    [InlineData(AddressFamily.InterNetworkV6)]
    public async Task An_unsolicited_SYN_is_dropped_at_router_a_and_reset_at_router_b(AddressFamily family)
    {
        var lab = fixture.Lab;
        Assert.Equal(ConnectOutcome.TimedOut, await LabChecks.UnsolicitedSynToClientAAsync(lab, family));
        using var holdA = LabSockets.Bound(lab.ClientA, family);
        using var holdB = LabSockets.Bound(lab.ClientB, family);
        var (peerOfA, _) = await LabSockets.PairAsync(lab.ClientA, holdA.Port(), lab.ClientB, holdB.Port(), family);
        using var stranger = LabSockets.Bound(lab.Server, family);
        Assert.Equal(ConnectOutcome.Refused, await LabSockets.ConnectAsync(stranger, peerOfA, LabChecks.SilenceWait));
    }

    [SkippableFact(Timeout = 60_000)]
    public async Task Punchhole_chat_crosses_in_both_directions()
    {
        using var line = PathDelay.Add(fixture.Lab);
        await PunchScenarios.ChatAsync(fixture.Lab, AddressFamily.InterNetwork);
    }

    [SkippableTheory(Timeout = 150_000)]
    [InlineData(AddressFamily.InterNetwork)]
    [InlineData(AddressFamily.InterNetworkV6)]
    public async Task Punchhole_connects_five_times_in_a_row(AddressFamily family)
    {
        using var line = PathDelay.Add(fixture.Lab);
        await PunchScenarios.PunchesInARowAsync(fixture.Lab, family, 5);
    }

    /// <summary>
    /// Here the lab's instant path is no matter of luck: client-b's SYN, dropped at router-a, leaves
    /// an entry at router-b for the 3.5 s the client keeps it, and client-a's next paced SYN enters it.
    /// </summary>
    [SkippableFact(Timeout = 150_000)]
    public Task Punchhole_connects_five_times_in_a_row_without_delay_too() =>
        PunchScenarios.PunchesInARowAsync(fixture.Lab, AddressFamily.InterNetwork, 5);
}
