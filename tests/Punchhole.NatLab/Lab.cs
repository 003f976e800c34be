using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;

namespace Punchhole.NatLab;

/// <summary>
/// The NAT lab: a small internet built from network namespaces, as root.
/// <code>
///                  the internet exchange: bridge br0 in namespace …-net
///                         198.51.100.0/28, 2001:db8::/64
///        ┌──────────────────────────────┼──────────────────────────────┐
///   server .2 ::2                 isp-a .11 ::11                  isp-b .12 ::12
///   tstun on port 3477                  │ 198.51.100.16/28               │ 198.51.100.32/28
///                                       │ 2001:db8:a::/64                │ 2001:db8:b::/64
///                               router-a .18 :a::2              router-b .34 :b::2
///                               NAT (v4), firewall (v6)         NAT (v4), firewall (v6)
///                                       │ 100.64.1.0/24                  │ 100.64.2.0/24
///                                       │ 2001:db8:1::/64                │ 2001:db8:2::/64
///                               client-a .2 :1::2               client-b .2 :2::2
/// </code>
/// In the public-peer variant client-b takes router-b's place: 198.51.100.34 and 2001:db8:b::2,
/// no NAT, no firewall. Each site reaches the exchange through its ISP's router, so between the
/// two NATs (or a public peer and a NAT) lie at least two routed hops, as on any real path: a
/// SYN sent with a TTL of 2 passes its own NAT and expires at its ISP.
/// Every namespace is named "phnl-PID-N-HOST", PID being the process that built it; interfaces are
/// created straight inside the lab's namespaces (never in the caller's), so deleting the
/// namespaces removes everything. Forwarding is switched on only inside the router namespaces.
/// </summary>
public sealed partial class Lab : IDisposable
{
    public const string Prefix = "phnl-";
    public const int TStunPort = 3477;

    public static readonly IPAddress ServerV4 = IPAddress.Parse("198.51.100.2");
    public static readonly IPAddress ServerV6 = IPAddress.Parse("2001:db8::2");

    private static readonly ConcurrentDictionary<string, bool> s_ownIds = new();
    private static readonly ConcurrentDictionary<Lab, bool> s_live = new();
    private static readonly Lock s_teardown = new();
    private static int s_serial;

    private readonly List<LabProcess> _processes = [];
    private readonly List<string> _namespaces = [];
    private bool _disposed;

    private Lab(LabVariant variant)
    {
        Variant = variant;
        Id = $"{Prefix}{Environment.ProcessId}-{Interlocked.Increment(ref s_serial)}";
        s_ownIds[Id] = true;
        static IPAddress A(string text) => IPAddress.Parse(text);
        Internet = Host("internet", "net", null, null, null);
        Server = Host("server", "srv", ServerV4, ServerV6, ServerV4);
        IspA = Host("isp-a", "ia", A("198.51.100.11"), A("2001:db8::11"), A("198.51.100.11"));
        IspB = Host("isp-b", "ib", A("198.51.100.12"), A("2001:db8::12"), A("198.51.100.12"));
        if (variant.IsSharedNat())
        {
            (Carrier, RouterA, RouterB, ClientA, ClientB) = SharedNatHosts(variant);
            return;
        }
        RouterA = Host("router-a", "ra", A("198.51.100.18"), A("2001:db8:a::2"), A("198.51.100.18"));
        ClientA = Host("client-a", "a", A("100.64.1.2"), A("2001:db8:1::2"), RouterA.V4);
        if (variant == LabVariant.PublicPeer)
        {
            RouterB = null;
            ClientB = Host("client-b", "b", A("198.51.100.34"), A("2001:db8:b::2"), A("198.51.100.34"));
        }
        else
        {
            RouterB = Host("router-b", "rb", A("198.51.100.34"), A("2001:db8:b::2"), A("198.51.100.34"));
            ClientB = Host("client-b", "b", A("100.64.2.2"), A("2001:db8:2::2"), RouterB.V4);
        }
    }

    public LabVariant Variant { get; }

    /// <summary>"phnl-PID-N": the prefix of every namespace of this lab.</summary>
    public string Id { get; }

    /// <summary>The clock every process of the lab is timed on.</summary>
    public Stopwatch Clock { get; } = Stopwatch.StartNew();

    /// <summary>The namespace holding the bridge; no addresses.</summary>
    public LabHost Internet { get; }

    public LabHost Server { get; }

    /// <summary>Site A's ISP: a plain router between the exchange and router-a.</summary>
    public LabHost IspA { get; }

    /// <summary>Site B's ISP: a plain router between the exchange and router-b (or the public client-b).</summary>
    public LabHost IspB { get; }

    /// <summary>Client A's NAT router (with the IPv6 firewall).</summary>
    public LabHost RouterA { get; }

    /// <summary>Null in the public-peer variant.</summary>
    public LabHost? RouterB { get; }

    public LabHost ClientA { get; }

    public LabHost ClientB { get; }

    public IEnumerable<LabHost> Hosts => new[] { Internet, Server, IspA, IspB, Carrier, RouterA, RouterB, ClientA, ClientB }.OfType<LabHost>();

    /// <summary>The NAT routers (with their firewalls).</summary>
    public IEnumerable<LabHost> Routers => new[] { Carrier, RouterA, RouterB }.OfType<LabHost>();

    /// <summary>Every namespace that forwards: the ISPs' routers and the NAT routers.</summary>
    public IEnumerable<LabHost> Forwarders => new[] { IspA, IspB, Carrier, RouterA, RouterB }.OfType<LabHost>();

    /// <summary>The namespaces of this lab (all of them exist while the lab does).</summary>
    public IReadOnlyList<string> Namespaces => _namespaces;

    /// <summary>tstun, running on <see cref="Server"/> at port 3477 (IPv4 and IPv6).</summary>
    public LabProcess TStun { get; private set; } = null!;

    /// <summary>The server's address for <paramref name="family"/>.</summary>
    public static IPAddress ServerAddress(AddressFamily family) => family == AddressFamily.InterNetworkV6 ? ServerV6 : ServerV4;

    /// <summary>
    /// Builds the lab for <paramref name="variant"/> and starts <paramref name="tstun"/> on its server,
    /// with <paramref name="tstunOptions"/> (e.g. --relay); cleans up stale labs first.
    /// </summary>
    public static Lab Create(LabVariant variant, string tstun, params string[] tstunOptions)
    {
        CleanStale();
        var lab = new Lab(variant);
        s_live[lab] = true;
        try
        {
            lab.Build();
            lab.KeepPacketsInOrder();
            lab.StartTStun(tstun, tstunOptions);
            lab.CheckReachable();
            return lab;
        }
        catch
        {
            lab.Dispose();
            throw;
        }
    }

    /// <summary>Starts <paramref name="program"/> on <paramref name="host"/>; the lab kills it at teardown if it still runs.</summary>
    public LabProcess Start(LabHost host, string program, params string[] args)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var process = LabProcess.Start(host, program, args, Clock);
        lock (_processes)
        {
            _processes.Add(process);
        }
        return process;
    }

    /// <summary>A TCP socket living on <paramref name="host"/>.</summary>
    public static Socket CreateSocket(LabHost host, AddressFamily family) => NetNs.CreateTcpSocket(host.Namespace, family);

    /// <summary>The IPv4 (iptables-restore) rules of a router in <paramref name="variant"/>.</summary>
    public static string Ipv4Rules(LabVariant variant) =>
        $"""
        *nat
        -A POSTROUTING -o wan0 -j MASQUERADE{(variant == LabVariant.RandomPort ? " --random-fully" : "")}
        COMMIT
        *filter
        :INPUT ACCEPT [0:0]
        :FORWARD DROP [0:0]
        :OUTPUT ACCEPT [0:0]
        -A INPUT -i wan0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
        {(variant == LabVariant.Reset ? "-A INPUT -i wan0 -p tcp --syn -m conntrack --ctstate NEW -j REJECT --reject-with tcp-reset" : "")}
        -A INPUT -i wan0 -j DROP
        -A FORWARD -m conntrack --ctstate INVALID -j DROP
        -A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
        -A FORWARD -i lan0 -o wan0 -j ACCEPT
        COMMIT

        """.Replace("\n\n", "\n", StringComparison.Ordinal);

    /// <summary>The IPv6 (ip6tables-restore) rules of a router in <paramref name="variant"/>: routed, no NAT.</summary>
    public static string Ipv6Rules(LabVariant variant) =>
        $"""
        *filter
        :INPUT ACCEPT [0:0]
        :FORWARD DROP [0:0]
        :OUTPUT ACCEPT [0:0]
        -A INPUT -i wan0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
        -A INPUT -i wan0 -p ipv6-icmp -j ACCEPT
        -A INPUT -i wan0 -j DROP
        -A FORWARD -m conntrack --ctstate INVALID -j DROP
        -A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
        -A FORWARD -i lan0 -o wan0 -j ACCEPT
        {(variant == LabVariant.Reset ? "-A FORWARD -i wan0 -p tcp --syn -m conntrack --ctstate NEW -j REJECT --reject-with tcp-reset" : "")}
        COMMIT

        """.Replace("\n\n", "\n", StringComparison.Ordinal);

    /// <summary>The routers' rule counters and connection tracking tables, for failure messages.</summary>
    public string Dump()
    {
        var text = new StringBuilder();
        foreach (var router in Routers)
        {
            foreach (var (tool, args) in new[]
            {
                ("iptables", new[] { "-t", "nat", "-L", "-v", "-n" }),
                ("iptables", new[] { "-L", "-v", "-n" }),
                ("ip6tables", new[] { "-L", "-v", "-n" }),
                ("conntrack", new[] { "-L", "-f", "ipv4" }),
                ("conntrack", new[] { "-L", "-f", "ipv6" }),
            })
            {
                Command.TryRun("ip", ["netns", "exec", router.Namespace, tool, .. args], out string output);
                text.Append("== ").Append(router.Role).Append(": ").Append(tool).Append(' ').AppendJoin(' ', args).Append('\n').Append(output);
            }
        }
        return text.ToString();
    }

    /// <summary>Kills what runs in the lab and deletes its namespaces (with them every interface, rule and route).</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, true))
        {
            return;
        }
        s_live.TryRemove(this, out _);
        lock (_processes)
        {
            foreach (var process in _processes)
            {
                process.Dispose();
            }
        }
        Remove(_namespaces);
    }

    /// <summary>Tears down every lab of this process that still stands (for Ctrl-C in the natlab command).</summary>
    public static void DisposeAll()
    {
        // One teardown at a time: a second caller waits until the first has finished.
        lock (s_teardown)
        {
            foreach (var lab in s_live.Keys)
            {
                lab.Dispose();
            }
        }
    }

    /// <summary>
    /// Removes the namespaces of labs whose building process is gone (a killed test run), with
    /// whatever still runs inside them. Touches nothing whose name lacks the lab's pattern, and no
    /// lab of a live process. Returns the namespaces removed.
    /// </summary>
    public static IReadOnlyList<string> CleanStale()
    {
        if (!System.IO.Directory.Exists(NetNs.Directory))
        {
            return [];
        }
        var stale = new List<string>();
        foreach (string path in System.IO.Directory.EnumerateFiles(NetNs.Directory))
        {
            string name = Path.GetFileName(path);
            var match = NamePattern().Match(name);
            if (!match.Success)
            {
                continue;
            }
            int pid = int.Parse(match.Groups["pid"].Value, CultureInfo.InvariantCulture);
            bool ownerAlive = pid == Environment.ProcessId
                ? s_ownIds.ContainsKey(match.Groups["id"].Value)
                : System.IO.Directory.Exists($"/proc/{pid}");
            if (!ownerAlive)
            {
                stale.Add(name);
            }
        }
        Remove(stale);
        return stale;
    }

    [GeneratedRegex(@"^(?<id>phnl-(?<pid>\d+)-\d+)-[a-z]+$")]
    private static partial Regex NamePattern();

    private static void Remove(IReadOnlyCollection<string> namespaces)
    {
        if (namespaces.Count == 0)
        {
            return;
        }
        foreach (string ns in namespaces)
        {
            if (!File.Exists(Path.Combine(NetNs.Directory, ns)))
            {
                continue;
            }
            // Programs still inside (started by a lab, e.g. one whose test timed out): end them by id.
            if (Command.TryRun("ip", ["netns", "pids", ns], out string pids))
            {
                foreach (string pid in pids.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                {
                    KillPid(int.Parse(pid, CultureInfo.InvariantCulture));
                }
            }
        }
        string batch = string.Concat(namespaces.Select(ns => $"netns del {ns}\n"));
        Command.TryRun("ip", ["-force", "-batch", "-"], out _, batch);
    }

    private static void KillPid(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            process.Kill();
            process.WaitForExit(5000);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            // Gone already.
        }
    }

    private LabHost Host(string role, string suffix, IPAddress? v4, IPAddress? v6, IPAddress? publicV4) =>
        new(role, $"{Id}-{suffix}", v4, v6, publicV4);

    private void Build()
    {
        // 1. The namespaces. Registered first, so a failure part-way still tears down what exists.
        _namespaces.AddRange(Hosts.Select(h => h.Namespace));
        Batch(null, _namespaces.Select(ns => $"netns add {ns}"));

        // 2. Sysctls, before any interface exists (new interfaces copy the "default" settings):
        //    no duplicate address detection, so IPv6 addresses work at once; forwarding only in routers.
        foreach (var host in Hosts)
        {
            var settings = new List<(string, string, bool)>
            {
                ("net.ipv6.conf.all.accept_dad", "0", false),
                ("net.ipv6.conf.default.accept_dad", "0", false),
            };
            if (host == Internet)
            {
                // With br_netfilter loaded, bridged frames would traverse this namespace's iptables: keep the wire plain.
                settings.Add(("net.bridge.bridge-nf-call-iptables", "0", true));
                settings.Add(("net.bridge.bridge-nf-call-ip6tables", "0", true));
                settings.Add(("net.bridge.bridge-nf-call-arptables", "0", true));
            }
            if (Forwarders.Contains(host))
            {
                settings.Add(("net.ipv4.ip_forward", "1", false));
                settings.Add(("net.ipv6.conf.all.forwarding", "1", false));
            }
            NetNs.SetSysctls(host.Namespace, settings);
        }
        if (Variant.IsSharedNat())
        {
            BuildSharedNat();
            return;
        }

        // 3. The wires: veth pairs created with both ends already in their namespaces.
        string net = Internet.Namespace;
        var siteB = RouterB ?? ClientB;
        Batch(null,
        [
            $"link add eth0 netns {Server.Namespace} type veth peer name srv netns {net}",
            $"link add ix0 netns {IspA.Namespace} type veth peer name isp-a netns {net}",
            $"link add ix0 netns {IspB.Namespace} type veth peer name isp-b netns {net}",
            $"link add acc0 netns {IspA.Namespace} type veth peer name wan0 netns {RouterA.Namespace}",
            $"link add lan0 netns {RouterA.Namespace} type veth peer name eth0 netns {ClientA.Namespace}",
            $"link add acc0 netns {IspB.Namespace} type veth peer name {(RouterB is null ? "eth0" : "wan0")} netns {siteB.Namespace}",
            .. RouterB is null ? Array.Empty<string>() : [$"link add lan0 netns {RouterB.Namespace} type veth peer name eth0 netns {ClientB.Namespace}"],
        ]);

        // 4. The exchange: one bridge joining the server and the two ISPs.
        BuildExchange("srv", "isp-a", "isp-b");

        // 5. Addresses and routes. Nothing outside a site has a route to 100.64.0.0/10: that is what the NAT is for.
        ConfigureServer([.. SiteRoutes(IspA, 'a', 1), .. SiteRoutes(IspB, 'b', 2)]);
        ConfigureIsp(IspA, 'a', 1, RouterA, [.. SiteRoutes(IspB, 'b', 2)]);
        ConfigureIsp(IspB, 'b', 2, siteB, [.. SiteRoutes(IspA, 'a', 1)]);
        ConfigureNat(RouterA, ClientA, 'a', 1);
        if (RouterB is null)
        {
            Batch(ClientB,
            [
                "link set lo up",
                $"addr add {ClientB.V4}/28 dev eth0",
                $"addr add {ClientB.V6}/64 dev eth0 nodad",
                "link set eth0 up",
                $"route add default via {AccessGateway(2)}",
                "route add default via 2001:db8:b::1",
            ]);
        }
        else
        {
            ConfigureNat(RouterB, ClientB, 'b', 2);
        }
    }

    /// <summary>The exchange: one bridge joining the given ports (the server's and the ISPs' wires).</summary>
    private void BuildExchange(params string[] ports) =>
        Batch(Internet,
        [
            "link set lo up",
            "link add br0 type bridge",
            "link set br0 type bridge mcast_snooping 0",
            "link set br0 up",
            .. ports.SelectMany(p => new[] { $"link set dev {p} master br0", $"link set dev {p} up" }),
        ]);

    private void ConfigureServer(string[] routes) =>
        Batch(Server,
        [
            "link set lo up",
            $"addr add {Server.V4}/28 dev eth0",
            $"addr add {Server.V6}/64 dev eth0 nodad",
            "link set eth0 up",
            .. routes,
        ]);

    /// <summary>The ISP's address on its access link: .17 for site 1, .33 for site 2.</summary>
    private static string AccessGateway(int site) => $"198.51.100.{(16 * site) + 1}";

    /// <summary>Routes, from the exchange, to a site's access link and LAN (IPv6 only: the v4 LAN is behind NAT).</summary>
    private static string[] SiteRoutes(LabHost isp, char letter, int site) =>
    [
        $"route add 198.51.100.{16 * site}/28 via {isp.V4}",
        $"route add 2001:db8:{letter}::/64 via {isp.V6}",
        $"route add 2001:db8:{site}::/64 via {isp.V6}",
    ];

    private void ConfigureIsp(LabHost isp, char letter, int site, LabHost customer, string[] otherSite)
    {
        Batch(isp,
        [
            "link set lo up",
            $"addr add {isp.V4}/28 dev ix0",
            $"addr add {isp.V6}/64 dev ix0 nodad",
            $"addr add {AccessGateway(site)}/28 dev acc0",
            $"addr add 2001:db8:{letter}::1/64 dev acc0 nodad",
            "link set ix0 up",
            "link set acc0 up",
            .. otherSite,
            .. customer == ClientB && RouterB is null ? Array.Empty<string>() : [$"route add 2001:db8:{site}::/64 via {customer.V6}"],
        ]);
    }

    private void ConfigureNat(LabHost router, LabHost client, char letter, int site)
    {
        Batch(router,
        [
            "link set lo up",
            $"addr add {router.V4}/28 dev wan0",
            $"addr add {router.V6}/64 dev wan0 nodad",
            $"addr add 100.64.{site}.1/24 dev lan0",
            $"addr add 2001:db8:{site}::1/64 dev lan0 nodad",
            "link set wan0 up",
            "link set lan0 up",
            $"route add default via {AccessGateway(site)}",
            $"route add default via 2001:db8:{letter}::1",
        ]);
        Batch(client,
        [
            "link set lo up",
            $"addr add {client.V4}/24 dev eth0",
            $"addr add {client.V6}/64 dev eth0 nodad",
            "link set eth0 up",
            $"route add default via 100.64.{site}.1",
            $"route add default via 2001:db8:{site}::1",
        ]);
        Command.Run("ip", ["netns", "exec", router.Namespace, "iptables-restore"], Ipv4Rules(RulesOf(router)));
        Command.Run("ip", ["netns", "exec", router.Namespace, "ip6tables-restore"], Ipv6Rules(RulesOf(router)));
    }

    /// <summary>Runs `ip -batch` in <paramref name="host"/>'s namespace (or in the caller's, for namespace and wire creation).</summary>
    private static void Batch(LabHost? host, IEnumerable<string> lines)
    {
        string[] args = host is null ? ["-batch", "-"] : ["-n", host.Namespace, "-batch", "-"];
        // Links come up before they get addresses. Seen otherwise: for about half a second after
        // the build, the first IPv6 connection through the lab stalled for 1 s (one lost SYN).
        static int Stage(string line) => line.StartsWith("link", StringComparison.Ordinal) ? 0 : line.StartsWith("addr", StringComparison.Ordinal) ? 1 : 2;
        Command.Run("ip", args, string.Concat(lines.OrderBy(Stage).Select(l => l + "\n")));
    }

    /// <summary>Every client reaches tstun over IPv4 and IPv6 (a plain connect, closed at once), or the build fails.</summary>
    private void CheckReachable()
    {
        foreach (var client in new[] { ClientA, ClientB })
        {
            foreach (var family in new[] { AddressFamily.InterNetwork, AddressFamily.InterNetworkV6 })
            {
                if (family == AddressFamily.InterNetworkV6 && client.V6 is null)
                {
                    // The carrier-NAT lab is IPv4 only.
                    continue;
                }
                using var socket = CreateSocket(client, family);
                string? failure;
                try
                {
                    failure = socket.ConnectAsync(ServerAddress(family), TStunPort).Wait(TimeSpan.FromSeconds(10)) ? null : "no answer in 10 s";
                }
                catch (AggregateException e)
                {
                    failure = e.InnerException?.Message ?? e.Message;
                }
                if (failure is not null)
                {
                    throw new LabException($"{client} cannot reach tstun at {ServerAddress(family)} port {TStunPort}: {failure}\n{Dump()}");
                }
            }
        }
    }

    private void StartTStun(string tstun, string[] options)
    {
        TStun = Start(Server, tstun, ["--port", TStunPort.ToString(CultureInfo.InvariantCulture), "--stats-interval", "0", "--verbose", .. options]);
        var listening = TStun.WaitForLineAsync(l => l.Contains("listening on", StringComparison.Ordinal), TimeSpan.FromSeconds(15))
            .GetAwaiter().GetResult();
        if (listening is null)
        {
            throw new LabException($"tstun did not start on the lab's server: {TStun.Describe()}");
        }
    }
}
