using System.Globalization;
using System.Text.RegularExpressions;
using Punchhole.NatLab;
using Punchhole.Tests.Support;

namespace Punchhole.Tests.Client;

/// <summary>
/// The punch's SYNs are paced: against a peer address that resets every SYN at once, the client
/// process sends at most 200 a second, counted by the kernel (an iptables rule in a private
/// network namespace), not by the client.
/// </summary>
public partial class SynPacingTests
{
    private const int ClosedPort = 9;
    private const int PunchSeconds = 3;

    [SkippableFact(Timeout = 60_000)]
    public async Task A_peer_that_resets_every_SYN_gets_at_most_200_a_second()
    {
        using var ns = LoopbackNamespace.Create();
        // The server sends the client to a port nothing listens on: the kernel resets every SYN at once.
        using var rendezvous = ns.Run(() => new FakeRendezvous($"127.0.0.1 {ClosedPort}"));
        ns.Iptables("-A", "OUTPUT", "-p", "tcp", "--syn", "--dport", $"{ClosedPort}");
        using var client = ChildProcess.Start("ip", [
            "netns", "exec", ns.Name, ClientProgram.Executable,
            .. ClientProgram.Server(rendezvous.Port), "--punch-timeout", $"{PunchSeconds}", "k"]);
        Assert.Equal(1, await client.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains(client.Lines, l => l.Contains("refused with a reset", StringComparison.Ordinal));

        long syns = SynCount(Command.Run("ip", ["netns", "exec", ns.Name, "iptables", "-nvxL", "OUTPUT"]));
        // 200 a second over the punch, and a few retransmitted by the kernel on a socket still connecting.
        Assert.InRange(syns, PunchSeconds * 20, PunchSeconds * 200 + 10);
    }

    /// <summary>The packet count of the rule that matches SYNs to the closed port.</summary>
    private static long SynCount(string listing)
    {
        var match = RuleLine().Match(listing);
        Assert.True(match.Success, listing);
        return long.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
    }

    [GeneratedRegex(@"^\s*(\d+)\s+\d+\s.*\bdpt:9\b", RegexOptions.Multiline)]
    private static partial Regex RuleLine();
}
