using System.Net.Sockets;

namespace Punchhole.Tests.NatLab;

/// <summary>An unanswered SYN is not left to the kernel's backoff (retransmissions 1 s, 3 s, 7 s... apart).</summary>
public partial class DropNatTests
{
    private const int BoundedPunchSeconds = 4;

    [SkippableTheory(Timeout = 60_000)]
    [InlineData(AddressFamily.InterNetwork)]
    [InlineData(AddressFamily.InterNetworkV6)]
    public async Task An_unanswered_SYN_is_replaced_by_a_new_one_within_a_second(AddressFamily family)
    {
        var run = await LonePunch.RunAsync(fixture.Lab, family, BoundedPunchSeconds);
        Assert.True(run.ExitCode == 1 && run.Stderr.Contains("no SYN from the peer arrived", StringComparison.Ordinal), run.ToString());
        // A new SYN (a new socket) at least every second, and no SYN the kernel retransmitted on its own.
        Assert.True(run.Attempts >= BoundedPunchSeconds, $"fewer than one attempt a second: {run}");
        Assert.True(Math.Abs(run.SynsAtNat - run.Attempts) <= 1, $"SYNs at the NAT other than the attempts: {run}");
    }
}
