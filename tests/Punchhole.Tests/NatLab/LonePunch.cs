using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Punchhole.NatLab;

namespace Punchhole.Tests.NatLab;

/// <summary>
/// punchhole on client-a alone against a peer that only asks tstun (a bare socket on client-b
/// that never punches), so every SYN meets router-b's policy for the whole punch. The SYNs are
/// counted by the kernel at router-a (an iptables rule without a target, matching SYNs to the
/// peer's endpoint), not by the client.
/// </summary>
internal sealed partial record LonePunch(int ExitCode, long SynsAtNat, int Attempts, double Seconds, string Tally, string Stderr)
{
    public static async Task<LonePunch> RunAsync(Lab lab, AddressFamily family, int punchSeconds)
    {
        string punchhole = LabFixture.RequirePunchhole();
        string phrase = "natlab " + Convert.ToHexString(RandomNumberGenerator.GetBytes(8));
        using var holdB = LabSockets.Bound(lab.ClientB, family);
        int portB = holdB.Port();
        var peer = new IPEndPoint(lab.ClientB.PublicAddress(family), portB);
        string tool = family == AddressFamily.InterNetworkV6 ? "ip6tables" : "iptables";
        string[] rule = ["FORWARD", "-i", "lan0", "-p", "tcp", "--syn", "-d", peer.Address.ToString(), "--dport", portB.ToString(CultureInfo.InvariantCulture)];
        Command.Run("ip", ["netns", "exec", lab.RouterA.Namespace, tool, "-I", .. rule]);
        try
        {
            using var a = lab.Start(lab.ClientA, punchhole,
            [
                family == AddressFamily.InterNetworkV6 ? "-6" : "-4", "-T", Lab.ServerAddress(family).ToString(),
                "--plain", "--punch-timeout", punchSeconds.ToString(CultureInfo.InvariantCulture), phrase,
            ]);
            var told = await LabSockets.RendezvousAsync(lab.ClientB, family, portB, SHA256.HashData(Encoding.UTF8.GetBytes(phrase)));
            Assert.Equal(lab.ClientA.PublicAddress(family), told.Address);
            int code = await a.WaitForExitAsync(TimeSpan.FromSeconds(punchSeconds + 20)) ?? -1;
            Assert.True(code != -1, $"punchhole did not exit\n{a.Describe()}");
            long syns = LabChecks.RulePackets(lab.RouterA, tool, "FORWARD", $"dpt:{portB}");
            var tally = a.StderrLines.Select(l => TallyLine().Match(l.Text)).FirstOrDefault(m => m.Success);
            Assert.NotNull(tally);
            return new LonePunch(code, syns,
                int.Parse(tally.Groups["attempts"].Value, CultureInfo.InvariantCulture),
                double.Parse(tally.Groups["seconds"].Value, CultureInfo.InvariantCulture),
                tally.Value, a.Describe());
        }
        finally
        {
            Command.Run("ip", ["netns", "exec", lab.RouterA.Namespace, tool, "-D", .. rule]);
        }
    }

    public override string ToString() => $"exit {ExitCode}, {SynsAtNat} SYNs counted at router-a; tally '{Tally}'\n{Stderr}";

    [GeneratedRegex(@"(?<attempts>\d+) attempts in (?<seconds>[\d.]+) s: \d+ unanswered, \d+ refused, \d+ unreachable")]
    private static partial Regex TallyLine();
}
