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
///                      "the internet": bridge br0 in namespace …-net
///                 198.51.100.0/24  and  2001:db8::/64
///        ┌───────────────────┬───────────────────┬──────────────────┐
///   server .2 / ::2    router-a .11 / ::11  router-b .12 / ::12   (public-peer variant:
///   runs tstun :3477        │ NAT (v4)            │ NAT (v4)          client-b itself is
///                           │ firewall (v6)       │ firewall (v6)     .20 / ::20 on the bridge)
///                    100.64.1.0/24        100.64.2.0/24
///                    2001:db8:1::/64      2001:db8:2::/64
///                      client-a .2 / ::2    client-b .2 / ::2
/// </code>
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
    private static int s_serial;

    private readonly List<LabProcess> _processes = [];
    private readonly List<string> _namespaces = [];
    private bool _disposed;

    private Lab(LabVariant variant)
    {
        Variant = variant;
        Id = $"{Prefix}{Environment.ProcessId}-{Interlocked.Increment(ref s_serial)}";
        s_ownIds[Id] = true;
        IPAddress V4(string text) => IPAddress.Parse(text);
        Internet = Host("internet", "net", null, null, null);
        Server = Host("server", "srv", ServerV4, ServerV6, ServerV4);
        RouterA = Host("router-a", "ra", V4("198.51.100.11"), V4("2001:db8::11"), V4("198.51.100.11"));
        ClientA = Host("client-a", "a", V4("100.64.1.2"), V4("2001:db8:1::2"), RouterA.V4);
        if (variant == LabVariant.PublicPeer)
        {
            RouterB = null;
            ClientB = Host("client-b", "b", V4("198.51.100.20"), V4("2001:db8::20"), V4("198.51.100.20"));
        }
        else
        {
            RouterB = Host("router-b", "rb", V4("198.51.100.12"), V4("2001:db8::12"), V4("198.51.100.12"));
            ClientB = Host("client-b", "b", V4("100.64.2.2"), V4("2001:db8:2::2"), RouterB.V4);
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

    public LabHost RouterA { get; }

    /// <summary>Null in the public-peer variant.</summary>
    public LabHost? RouterB { get; }

    public LabHost ClientA { get; }

    public LabHost ClientB { get; }

    public IEnumerable<LabHost> Hosts => new[] { Internet, Server, RouterA, RouterB, ClientA, ClientB }.OfType<LabHost>();

    public IEnumerable<LabHost> Routers => new[] { RouterA, RouterB }.OfType<LabHost>();

    /// <summary>The namespaces of this lab (all of them exist while the lab does).</summary>
    public IReadOnlyList<string> Namespaces => _namespaces;

    /// <summary>tstun, running on <see cref="Server"/> at port 3477 (IPv4 and IPv6).</summary>
    public LabProcess TStun { get; private set; } = null!;

    /// <summary>The server's address for <paramref name="family"/>.</summary>
    public static IPAddress ServerAddress(AddressFamily family) => family == AddressFamily.InterNetworkV6 ? ServerV6 : ServerV4;

    /// <summary>Builds the lab for <paramref name="variant"/> and starts <paramref name="tstun"/> on its server; cleans up stale labs first.</summary>
    public static Lab Create(LabVariant variant, string tstun)
    {
        CleanStale();
        var lab = new Lab(variant);
        try
        {
            lab.Build();
            lab.StartTStun(tstun);
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
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        lock (_processes)
        {
            foreach (var process in _processes)
            {
                process.Dispose();
            }
        }
        Remove(_namespaces);
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
            if (Routers.Contains(host))
            {
                settings.Add(("net.ipv4.ip_forward", "1", false));
                settings.Add(("net.ipv6.conf.all.forwarding", "1", false));
            }
            NetNs.SetSysctls(host.Namespace, settings);
        }

        // 3. The wires: veth pairs created with both ends already in their namespaces.
        string net = Internet.Namespace;
        var wires = new List<string>
        {
            $"link add eth0 netns {Server.Namespace} type veth peer name srv netns {net}",
            $"link add wan0 netns {RouterA.Namespace} type veth peer name ra netns {net}",
            $"link add lan0 netns {RouterA.Namespace} type veth peer name eth0 netns {ClientA.Namespace}",
        };
        if (RouterB is null)
        {
            wires.Add($"link add eth0 netns {ClientB.Namespace} type veth peer name b netns {net}");
        }
        else
        {
            wires.Add($"link add wan0 netns {RouterB.Namespace} type veth peer name rb netns {net}");
            wires.Add($"link add lan0 netns {RouterB.Namespace} type veth peer name eth0 netns {ClientB.Namespace}");
        }
        Batch(null, wires);

        // 4. The internet: one bridge joining the server, the routers' WAN sides and a public client.
        var ports = RouterB is null ? new[] { "srv", "ra", "b" } : ["srv", "ra", "rb"];
        Batch(Internet,
        [
            "link set lo up",
            "link add br0 type bridge",
            "link set br0 type bridge mcast_snooping 0",
            "link set br0 up",
            .. ports.SelectMany(p => new[] { $"link set dev {p} master br0", $"link set dev {p} up" }),
        ]);

        // 5. Addresses and routes. Public hosts reach the client LANs' IPv6 prefixes through the routers;
        //    nothing on the internet has a route to 100.64.0.0/10 (that is what the NAT is for).
        var v6Routes = new List<string> { "route add 2001:db8:1::/64 via 2001:db8::11" };
        if (RouterB is not null)
        {
            v6Routes.Add("route add 2001:db8:2::/64 via 2001:db8::12");
        }
        Batch(Server, PublicHost(Server, v6Routes));
        if (RouterB is null)
        {
            Batch(ClientB, PublicHost(ClientB, v6Routes));
        }
        ConfigureSite(RouterA, ClientA, 1, RouterB is null ? [] : ["route add 2001:db8:2::/64 via 2001:db8::12"]);
        if (RouterB is not null)
        {
            ConfigureSite(RouterB, ClientB, 2, ["route add 2001:db8:1::/64 via 2001:db8::11"]);
        }
    }

    private static string[] PublicHost(LabHost host, IEnumerable<string> routes) =>
    [
        "link set lo up",
        $"addr add {host.V4}/24 dev eth0",
        $"addr add {host.V6}/64 dev eth0 nodad",
        "link set eth0 up",
        .. routes,
    ];

    private void ConfigureSite(LabHost router, LabHost client, int site, IEnumerable<string> routerRoutes)
    {
        Batch(router,
        [
            "link set lo up",
            $"addr add {router.V4}/24 dev wan0",
            $"addr add {router.V6}/64 dev wan0 nodad",
            $"addr add 100.64.{site}.1/24 dev lan0",
            $"addr add 2001:db8:{site}::1/64 dev lan0 nodad",
            "link set wan0 up",
            "link set lan0 up",
            .. routerRoutes,
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
        Command.Run("ip", ["netns", "exec", router.Namespace, "iptables-restore"], Ipv4Rules(Variant));
        Command.Run("ip", ["netns", "exec", router.Namespace, "ip6tables-restore"], Ipv6Rules(Variant));
    }

    /// <summary>Runs `ip -batch` in <paramref name="host"/>'s namespace (or in the caller's, for namespace and wire creation).</summary>
    private static void Batch(LabHost? host, IEnumerable<string> lines)
    {
        string[] args = host is null ? ["-batch", "-"] : ["-n", host.Namespace, "-batch", "-"];
        Command.Run("ip", args, string.Concat(lines.Select(l => l + "\n")));
    }

    private void StartTStun(string tstun)
    {
        TStun = Start(Server, tstun, "--port", TStunPort.ToString(CultureInfo.InvariantCulture), "--stats-interval", "0", "--verbose");
        var listening = TStun.WaitForLineAsync(l => l.Contains("listening on", StringComparison.Ordinal), TimeSpan.FromSeconds(15))
            .GetAwaiter().GetResult();
        if (listening is null)
        {
            throw new LabException($"tstun did not start on the lab's server: {TStun.Describe()}");
        }
    }
}
