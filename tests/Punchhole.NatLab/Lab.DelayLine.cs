using System.Globalization;

namespace Punchhole.NatLab;

/// <summary>
/// Delay lines: path delay for the lab, whose wires are otherwise instant (a SYN crosses the
/// lab in microseconds, and the kernel has no netem).
/// <code>
///   router-a ── acc0 [isp-a] ix0 ── exchange          without: acc0 → ix0, forwarded at once
///                    │    ↑
///                    ↓    │ iif delay0: the main table
///                   delay0 (TUN) ⇄ natlab delay: holds each packet for the delay
/// </code>
/// In the ISP's namespace, policy routing sends every packet that arrives on acc0 or ix0 into
/// the TUN device (table 100); the delay program writes it back after the delay, and the kernel,
/// receiving it on delay0, forwards it by the main table to where it was going. Only forwarded
/// packets take the detour (the ISP's own, e.g. its ICMP errors, do not), the NAT routers see
/// the same packets as without it, only later, and nothing is reordered. IPv4 and IPv6 alike.
/// A delay line at isp-a delays everything between site A and the rest of the lab, both ways:
/// with D ms there, a round trip from client-a to router-b (or to tstun) takes 2·D more, while
/// client-b's round trip to tstun is unchanged. Put one at each ISP for a symmetric path.
/// If the delay program dies, table 100 answers "network unreachable" rather than silently
/// forwarding without the delay.
/// </summary>
public sealed partial class Lab
{
    /// <summary>The routing table holding the detour, in the ISP's namespace.</summary>
    public const int DelayTable = 100;

    /// <summary>The TUN device's name in the ISP's namespace.</summary>
    public const string DelayDevice = "delay0";

    private readonly Dictionary<LabHost, DelayLine> _delayLines = [];

    /// <summary>The delay lines in place (at most one per ISP).</summary>
    public IReadOnlyCollection<DelayLine> DelayLines
    {
        get
        {
            lock (_delayLines)
            {
                return [.. _delayLines.Values];
            }
        }
    }

    /// <summary>
    /// Delays every packet <paramref name="isp"/> (<see cref="IspA"/> or <see cref="IspB"/>)
    /// forwards, in both directions, by <paramref name="oneWay"/> (0 to 10 s). At most
    /// <paramref name="queueLimit"/> packets are held; more are dropped and counted. The delay
    /// program ends after <paramref name="lifetime"/> (default one hour), when the line is
    /// disposed, or with the lab.
    /// </summary>
    public DelayLine AddDelayLine(LabHost isp, TimeSpan oneWay, int queueLimit = PacketDelay.DefaultQueueLimit, TimeSpan? lifetime = null)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (isp != IspA && isp != IspB)
        {
            throw new ArgumentException($"a delay line goes on isp-a or isp-b, not on {isp.Role}", nameof(isp));
        }
        if (isp == IspB && Variant.IsSharedNat())
        {
            throw new ArgumentException($"isp-b carries no traffic in the {Variant.Name()} lab: put the delay line on isp-a", nameof(isp));
        }
        ArgumentOutOfRangeException.ThrowIfLessThan(oneWay, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(oneWay, TimeSpan.FromSeconds(10));
        ArgumentOutOfRangeException.ThrowIfLessThan(queueLimit, 1);
        lock (_delayLines)
        {
            if (_delayLines.ContainsKey(isp))
            {
                throw new InvalidOperationException($"{isp.Role} has a delay line already");
            }
            var line = StartDelayLine(isp, oneWay, queueLimit, lifetime ?? TimeSpan.FromHours(1));
            _delayLines[isp] = line;
            return line;
        }
    }

    private DelayLine StartDelayLine(LabHost isp, TimeSpan oneWay, int queueLimit, TimeSpan lifetime)
    {
        string program = Path.Combine(AppContext.BaseDirectory, "natlab");
        if (!File.Exists(program))
        {
            throw new LabException($"the delay line runs `natlab delay`, and {program} is missing");
        }
        // Packets come back on delay0 from sources that route via acc0 or ix0: no reverse-path filter.
        // Set before the device exists, which copies the default.
        NetNs.SetSysctls(isp.Namespace,
        [
            ("net.ipv4.conf.all.rp_filter", "0", false),
            ("net.ipv4.conf.default.rp_filter", "0", false),
        ]);
        static string Invariant(double value) => value.ToString(CultureInfo.InvariantCulture);
        var process = Start(isp, program,
        [
            "delay", "--dev", DelayDevice, "--ms", Invariant(oneWay.TotalMilliseconds),
            "--queue", queueLimit.ToString(CultureInfo.InvariantCulture), "--seconds", Invariant(Math.Ceiling(lifetime.TotalSeconds)),
        ]);
        var ready = process.WaitForLineAsync(l => l.Contains($": {PacketDelay.ReadyText},", StringComparison.Ordinal), TimeSpan.FromSeconds(20))
            .GetAwaiter().GetResult();
        if (ready is null)
        {
            process.Kill();
            throw new LabException($"the delay line on {isp.Role} did not start: {process.Describe()}");
        }
        string[] rules = [$"rule add iif ix0 lookup {DelayTable} pref {DelayTable}", $"rule add iif acc0 lookup {DelayTable} pref {DelayTable}"];
        string[] routing =
        [
            $"route replace default dev {DelayDevice} table {DelayTable}",
            $"route replace unreachable default metric 65535 table {DelayTable}",
            .. rules,
        ];
        try
        {
            Batch(isp, [$"link set {DelayDevice} up", .. routing]);
            Command.Run("ip", ["-6", "-n", isp.Namespace, "-batch", "-"], string.Concat(routing.Select(l => l + "\n")));
        }
        catch (LabException)
        {
            process.Kill();
            throw;
        }
        return new DelayLine(isp, oneWay, process, () =>
        {
            lock (_delayLines)
            {
                _delayLines.Remove(isp);
            }
            string undo = string.Concat(rules.Select(r => r.Replace("rule add", "rule del", StringComparison.Ordinal) + "\n"));
            Command.TryRun("ip", ["-n", isp.Namespace, "-batch", "-"], out _, undo);
            Command.TryRun("ip", ["-6", "-n", isp.Namespace, "-batch", "-"], out _, undo);
        });
    }
}
