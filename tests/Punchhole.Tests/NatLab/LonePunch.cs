using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Punchhole.NatLab;

namespace Punchhole.Tests.NatLab;

/// <summary>
/// punchhole on one client alone (client-a, or client-b with <c>fromB</c>) against a peer that
/// only asks tstun (a bare socket on the other client that never punches), so every SYN meets the
/// peer's router's policy for the whole punch. The SYNs are counted by the kernel at the puncher's
/// own router (an iptables rule without a target, matching SYNs to the peer's endpoint), not by
/// the client; the counter is also read every <see cref="SampleInterval"/> while the client runs,
/// for the rate in any second of the punch.
/// </summary>
internal sealed partial record LonePunch(
    int ExitCode, long SynsAtNat, int Attempts, double Seconds, string Tally, string Stderr, IReadOnlyList<LonePunch.Sample> Samples)
{
    private static readonly TimeSpan SampleInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>The rule's count, read between <paramref name="From"/> and <paramref name="To"/> (seconds on the lab's clock).</summary>
    internal readonly record struct Sample(double From, double To, long Syns);

    public static async Task<LonePunch> RunAsync(Lab lab, AddressFamily family, int punchSeconds, bool fromB = false)
    {
        string punchhole = LabFixture.RequirePunchhole();
        string phrase = "natlab " + Convert.ToHexString(RandomNumberGenerator.GetBytes(8));
        var (puncher, router, peerHost) = fromB
            ? (lab.ClientB, lab.RouterB ?? throw new InvalidOperationException("this lab has no router-b"), lab.ClientA)
            : (lab.ClientA, lab.RouterA, lab.ClientB);
        using var hold = LabSockets.Bound(peerHost, family);
        int port = hold.Port();
        var peer = new IPEndPoint(peerHost.PublicAddress(family), port);
        string tool = family == AddressFamily.InterNetworkV6 ? "ip6tables" : "iptables";
        string[] rule = ["FORWARD", "-i", "lan0", "-p", "tcp", "--syn", "-d", peer.Address.ToString(), "--dport", port.ToString(CultureInfo.InvariantCulture)];
        long Count() => LabChecks.RulePackets(router, tool, "FORWARD", $"dpt:{port}");
        Command.Run("ip", ["netns", "exec", router.Namespace, tool, "-I", .. rule]);
        try
        {
            using var client = lab.Start(puncher, punchhole,
            [
                family == AddressFamily.InterNetworkV6 ? "-6" : "-4", "-T", Lab.ServerAddress(family).ToString(),
                "--plain", "--punch-timeout", punchSeconds.ToString(CultureInfo.InvariantCulture), phrase,
            ]);
            var told = await LabSockets.RendezvousAsync(peerHost, family, port, SHA256.HashData(Encoding.UTF8.GetBytes(phrase)));
            Assert.Equal(puncher.PublicAddress(family), told.Address);
            var samples = new List<Sample>();
            var exited = client.WaitForExitAsync(TimeSpan.FromSeconds(punchSeconds + 20));
            while (!exited.IsCompleted)
            {
                double from = lab.Clock.Elapsed.TotalSeconds;
                long syns = Count();
                samples.Add(new Sample(from, lab.Clock.Elapsed.TotalSeconds, syns));
                await Task.WhenAny(exited, Task.Delay(SampleInterval));
            }
            int code = await exited ?? -1;
            Assert.True(code != -1, $"punchhole did not exit\n{client.Describe()}");
            long total = Count();
            var tally = client.StderrLines.Select(l => TallyLine().Match(l.Text)).FirstOrDefault(m => m.Success);
            Assert.NotNull(tally);
            return new LonePunch(code, total,
                int.Parse(tally.Groups["attempts"].Value, CultureInfo.InvariantCulture),
                double.Parse(tally.Groups["seconds"].Value, CultureInfo.InvariantCulture),
                tally.Value, client.Describe(), samples);
        }
        finally
        {
            Command.Run("ip", ["netns", "exec", router.Namespace, tool, "-D", .. rule]);
        }
    }

    /// <summary>
    /// The most SYNs a second the NAT counted over any stretch of at least <paramref name="window"/>
    /// between two readings. Each stretch is taken at its longest (from before the first reading
    /// began to after the second ended), so a slow reading never makes the rate look higher.
    /// </summary>
    public double PeakRate(TimeSpan window)
    {
        double peak = 0;
        for (int i = 0; i < Samples.Count; i++)
        {
            for (int j = i + 1; j < Samples.Count; j++)
            {
                double seconds = Samples[j].To - Samples[i].From;
                if (seconds >= window.TotalSeconds)
                {
                    peak = Math.Max(peak, (Samples[j].Syns - Samples[i].Syns) / seconds);
                }
            }
        }
        return peak;
    }

    public override string ToString() => $"exit {ExitCode}, {SynsAtNat} SYNs counted at the puncher's NAT; tally '{Tally}'\n{Stderr}";

    [GeneratedRegex(@"(?<attempts>\d+) attempts in (?<seconds>[\d.]+) s: \d+ unanswered, \d+ refused, \d+ unreachable")]
    private static partial Regex TallyLine();
}
