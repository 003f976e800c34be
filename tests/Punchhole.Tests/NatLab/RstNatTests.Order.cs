using System.Globalization;
using Punchhole.NatLab;

namespace Punchhole.Tests.NatLab;

/// <summary>
/// A punch that comes up with one direction dead: the lab keeps one flow's packets in order, so
/// conntrack cannot lose step with a client, and if a path dies in one direction anyway, both
/// clients end with an error within a bound instead of hanging.
/// </summary>
public partial class RstNatTests
{
    /// <summary>The bound in the client (30 s without an acknowledgement), plus a keepalive interval and slack.</summary>
    private static readonly TimeSpan DeadPathExit = TimeSpan.FromSeconds(55);

    [SkippableFact(Timeout = 60_000)]
    public async Task Every_interface_of_the_lab_steers_its_packets_to_one_CPU()
    {
        await Task.Yield();
        var lab = fixture.Lab;
        foreach (var host in lab.Hosts)
        {
            var masks = Lab.SteeringMasks(host);
            Assert.NotEmpty(masks);
            Assert.All(masks, mask => Assert.Equal(1, int.Parse(mask.Replace(",", "", StringComparison.Ordinal), NumberStyles.HexNumber, CultureInfo.InvariantCulture)));
        }
    }

    [SkippableFact(Timeout = 300_000)]
    public async Task Punchhole_connects_twenty_times_in_a_row_with_a_line_each_way()
    {
        using var line = PathDelay.Add(fixture.Lab);
        await PunchScenarios.PunchesInARowAsync(fixture.Lab, V4, 20);
    }

    [SkippableFact(Timeout = 120_000)]
    public async Task A_connection_whose_one_direction_dies_ends_both_clients_with_exit_1_within_a_bound()
    {
        var lab = fixture.Lab;
        using var line = PathDelay.Add(lab);
        using var pair = PunchPair.Start(lab, LabFixture.RequirePunchhole(), V4);
        Assert.True(await pair.WaitConnectedAsync(PunchScenarios.ConnectWait) is not null, pair.Describe());
        await PunchScenarios.SayAsync(pair.A, pair.B, "before\n");
        // From now on router-a forwards nothing of client-a's to router-b: what a NAT does whose
        // entry lost step with its client (it drops the client's packets as out of window).
        string[] rule = ["FORWARD", "-i", "lan0", "-p", "tcp", "-d", lab.RouterB!.V4!.ToString(), "!", "--dport", Lab.TStunPort.ToString(CultureInfo.InvariantCulture), "-j", "DROP"];
        Command.Run("ip", ["netns", "exec", lab.RouterA.Namespace, "iptables", "-I", .. rule]);
        try
        {
            var started = lab.Clock.Elapsed;
            await pair.A.WriteAsync("lost from a\n");
            await pair.B.WriteAsync("arrives from b\n");
            var (codeA, codeB, _) = await pair.WaitExitAsync(DeadPathExit);
            var took = lab.Clock.Elapsed - started;
            Assert.True(codeA == 1 && codeB == 1, $"exits {codeA}/{codeB} after {took.TotalSeconds:0.0} s\n{pair.Describe()}");
            Assert.DoesNotContain("lost from a", pair.B.StdoutText, StringComparison.Ordinal);
            foreach (var client in new[] { pair.A, pair.B })
            {
                Assert.Contains(client.StderrLines, l => l.Text.StartsWith("punchhole: ", StringComparison.Ordinal) && l.Text.Contains("timed out", StringComparison.Ordinal));
                Assert.DoesNotContain(client.StderrLines, l => l.Text.Contains("net_", StringComparison.Ordinal) || l.Text.Contains("   at ", StringComparison.Ordinal));
            }
        }
        finally
        {
            Command.Run("ip", ["netns", "exec", lab.RouterA.Namespace, "iptables", "-D", .. rule]);
        }
    }
}
