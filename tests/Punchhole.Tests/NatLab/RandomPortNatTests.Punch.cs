using Punchhole.NatLab;

namespace Punchhole.Tests.NatLab;

/// <summary>The published punchhole behind symmetric NATs: no direct TCP is possible, and it must say so and stop.</summary>
public partial class RandomPortNatTests
{
    [SkippableFact(Timeout = 60_000)]
    public async Task Punchhole_fails_cleanly_with_the_symmetric_NAT_diagnosis_within_15_s()
    {
        var lab = fixture.Lab;
        var result = await PunchTrial.FailCleanlyAsync(lab, LabFixture.RequirePunchhole(), V4);
        Assert.True(result.Ok, result.Detail);
        Assert.InRange(result.Elapsed, TimeSpan.Zero, PunchTrial.FailureBound);
    }

    [SkippableFact(Timeout = 60_000)]
    public Task Punchhole_still_connects_over_IPv6_which_has_no_NAT_here() =>
        PunchScenarios.PunchesInARowAsync(fixture.Lab, System.Net.Sockets.AddressFamily.InterNetworkV6, 1);
}
