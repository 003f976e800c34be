using System.Net.Sockets;

namespace Punchhole.Tests.NatLab;

/// <summary>An unanswered SYN is not left to the kernel's backoff beyond its first retransmissions (1, 2 and 3 s after it here).</summary>
public partial class DropNatTests
{
    private const int BoundedPunchSeconds = 6;

    [SkippableTheory(Timeout = 60_000)]
    [InlineData(AddressFamily.InterNetwork)]
    [InlineData(AddressFamily.InterNetworkV6)]
    public async Task An_unanswered_SYN_is_replaced_by_a_new_one_after_3_5_s(AddressFamily family)
    {
        var run = await LonePunch.RunAsync(fixture.Lab, family, BoundedPunchSeconds);
        Assert.True(run.ExitCode == 1 && run.Stderr.Contains("no SYN from the peer arrived", StringComparison.Ordinal), run.ToString());
        // A new SYN (a new socket) 3.5 s after the first; each SYN retransmitted at most three times (1, 2, 3 s).
        Assert.True(run.Attempts >= 2, $"one attempt left to the kernel's backoff: {run}");
        Assert.True(run.SynsAtNat <= 4 * run.Attempts, $"a SYN retransmitted more than three times: {run}");
    }
}
