using System.Net.Sockets;

namespace Punchhole.Tests.NatLab;

/// <summary>Against a NAT that resets every SYN, the tally the user reads counts the SYNs that left.</summary>
public partial class RstNatTests
{
    [SkippableTheory(Timeout = 60_000)]
    [InlineData(AddressFamily.InterNetwork)]
    [InlineData(AddressFamily.InterNetworkV6)]
    public async Task Against_a_resetting_NAT_the_tally_counts_the_SYNs_its_own_NAT_saw(AddressFamily family)
    {
        var run = await LonePunch.RunAsync(fixture.Lab, family, punchSeconds: 3);
        Assert.True(run.ExitCode == 1 && run.Stderr.Contains("refused with a reset", StringComparison.Ordinal), run.ToString());
        Assert.True(run.SynsAtNat > 0, run.ToString());
        // The last attempt may be cut off at the deadline before its SYN left.
        Assert.True(Math.Abs(run.SynsAtNat - run.Attempts) <= 1, $"the tally says {run.Attempts} attempts: {run}");
    }
}
