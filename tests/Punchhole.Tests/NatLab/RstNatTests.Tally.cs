using System.Net.Sockets;

namespace Punchhole.Tests.NatLab;

/// <summary>
/// Against a NAT that resets every SYN, each client paces its retries (at most 200 SYNs a second),
/// and the tally the user reads counts the SYNs that left. Both are checked at the client's own
/// NAT, not in the client.
/// </summary>
public partial class RstNatTests
{
    private const double MaxSynsPerSecond = 200;

    [SkippableTheory(Timeout = 60_000)]
    [InlineData(AddressFamily.InterNetwork, false)]
    [InlineData(AddressFamily.InterNetwork, true)]
    [InlineData(AddressFamily.InterNetworkV6, false)]
    [InlineData(AddressFamily.InterNetworkV6, true)]
    public async Task Against_a_resetting_NAT_each_client_sends_at_most_200_SYNs_a_second_and_the_tally_counts_them(AddressFamily family, bool fromB)
    {
        var run = await LonePunch.RunAsync(fixture.Lab, family, punchSeconds: 3, fromB);
        Assert.True(run.ExitCode == 1 && run.Stderr.Contains("refused with a reset", StringComparison.Ordinal), run.ToString());
        // Paced, not stalled: a resetting NAT answers in a round trip, so there are many attempts.
        Assert.True(run.SynsAtNat >= 20, run.ToString());
        // The last attempt may be cut off at the deadline before its SYN left.
        Assert.True(Math.Abs(run.SynsAtNat - run.Attempts) <= 1, $"the tally says {run.Attempts} attempts: {run}");
        double overall = run.SynsAtNat / run.Seconds;
        Assert.True(overall <= MaxSynsPerSecond, $"{overall:0} SYNs a second over the punch: {run}");
        Assert.True(run.Samples.Count >= 10, $"{run.Samples.Count} readings of the NAT's counter: {run}");
        double peak = run.PeakRate(TimeSpan.FromSeconds(1));
        output.WriteLine($"{family}, client-{(fromB ? 'b' : 'a')}: {run.SynsAtNat} SYNs at its NAT in {run.Seconds} s ({overall:0}/s), {peak:0}/s in the busiest second; {run.Tally}");
        Assert.True(peak <= MaxSynsPerSecond, $"{peak:0} SYNs a second in the busiest second at the NAT: {run}");
    }
}
