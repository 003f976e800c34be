using System.Globalization;
using System.Net.Sockets;

namespace Punchhole.NatLab;

/// <summary>
/// Counts, at each site's router, the SYNs its client sends to the other site: an iptables (or
/// ip6tables) rule without a target at the top of FORWARD, matching SYNs from the LAN to the other
/// site's public address. The kernel counts them; the client's own tally is not trusted for it.
/// Only for labs with two sites (router-a and router-b).
/// </summary>
internal sealed class SynCounter : IDisposable
{
    private readonly (LabHost Router, string[] Rule)[] _rules;
    private readonly string _tool;

    public SynCounter(Lab lab, AddressFamily family)
    {
        var routerB = lab.RouterB ?? throw new InvalidOperationException($"the {lab.Variant.Name()} lab has no router-b");
        _tool = family == AddressFamily.InterNetworkV6 ? "ip6tables" : "iptables";
        string[] Rule(LabHost peer) => ["FORWARD", "-i", "lan0", "-p", "tcp", "--syn", "-d", peer.PublicAddress(family).ToString()];
        _rules = [(lab.RouterA, Rule(lab.ClientB)), (routerB, Rule(lab.ClientA))];
        foreach (var (router, rule) in _rules)
        {
            Command.Run("ip", ["netns", "exec", router.Namespace, _tool, "-I", .. rule]);
        }
    }

    /// <summary>The SYNs counted so far at router-a (client-a's) and router-b (client-b's).</summary>
    public (long A, long B) Read() => (Packets(_rules[0]), Packets(_rules[1]));

    private long Packets((LabHost Router, string[] Rule) counter)
    {
        string listing = Command.Run("ip", ["netns", "exec", counter.Router.Namespace, _tool, "-L", "FORWARD", "1", "-v", "-n", "-x"]);
        return long.Parse(listing.Split(' ', StringSplitOptions.RemoveEmptyEntries)[0], CultureInfo.InvariantCulture);
    }

    public void Dispose()
    {
        foreach (var (router, rule) in _rules)
        {
            Command.TryRun("ip", ["netns", "exec", router.Namespace, _tool, "-D", .. rule], out _);
        }
    }
}

/// <summary>The SYNs each client sent over a row of trials, and the highest rate of one trial (start to connected).</summary>
internal sealed class SynRates
{
    /// <summary>Trials shorter than this give no rate of their own (a SYN or two in 30 ms says nothing about a second).</summary>
    private static readonly TimeSpan RateFloor = TimeSpan.FromSeconds(1);

    private long _a;
    private long _b;
    private TimeSpan _time;
    private double _peak;
    private int _long;

    public void Add(long a, long b, TimeSpan elapsed)
    {
        _a += a;
        _b += b;
        _time += elapsed;
        if (elapsed >= RateFloor)
        {
            _long++;
            _peak = Math.Max(_peak, Math.Max(a, b) / elapsed.TotalSeconds);
        }
    }

    public override string ToString()
    {
        double seconds = _time.TotalSeconds;
        string overall = seconds > 0
            ? string.Create(CultureInfo.InvariantCulture, $"{_a / seconds:0}/s and {_b / seconds:0}/s")
            : "–";
        string peak = _long > 0
            ? string.Create(CultureInfo.InvariantCulture, $"; the highest in one trial of at least {RateFloor.TotalSeconds:0} s ({_long} such): {_peak:0}/s")
            : "; no trial lasted 1 s";
        return string.Create(CultureInfo.InvariantCulture, $"client-a {_a} and client-b {_b} SYNs in {seconds:0.00} s of trials (start to connected): {overall}{peak}");
    }
}
