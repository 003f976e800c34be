using System.Net;

namespace Punchhole.NatLab;

/// <summary>
/// The labs where both clients sit behind one NAT that does not hairpin, so that the public
/// punch cannot work and only their local addresses (T-STUN/2 candidates) or tstun's relay can.
/// <code>
///   same NAT (same-nat-drop, same-nat-rst)         carrier NAT (carrier-nat, IPv4 only)
///
///   server .2 ── exchange ── isp-a .11              server .2 ── exchange ── isp-a .11
///                              │ 198.51.100.16/28                             │ 198.51.100.16/28
///                     router-a .18  :a::2                           carrier .18: the carrier NAT
///                     NAT, firewall, no hairpin                     no hairpin; bridge lan0 with
///                     bridge lan0: 100.64.1.1/24                    isolated ports: 100.64.0.1/24
///                              │ 2001:db8:1::/64                      │                     │
///                 ┌────────────┴────────────┐                router-a 100.64.0.11   router-b 100.64.0.12
///          client-a 100.64.1.2      client-b 100.64.1.3       home NAT              home NAT
///                   2001:db8:1::2           2001:db8:1::3         │ 100.64.1.0/24       │ 100.64.2.0/24
///                                                             client-a .2            client-b .2
/// </code>
/// isp-b's namespace exists but is not wired. The shared NAT's rules are the drop (or rst) NAT's,
/// plus one line for the hairpin: a packet from the LAN to the NAT's own public address is
/// dropped (or, for a SYN, answered with a reset) instead of being translated back inside.
/// The carrier NAT isolates its subscribers' ports, as a carrier does: the two home routers reach
/// only the carrier NAT, never each other.
/// </summary>
public sealed partial class Lab
{
    /// <summary>The shared NAT's public address: router-a's in the same-NAT labs, the carrier NAT's.</summary>
    public static readonly IPAddress SharedPublicV4 = IPAddress.Parse("198.51.100.18");

    /// <summary>The carrier NAT (carrier-nat only).</summary>
    public LabHost? Carrier { get; }

    /// <summary>The IPv4 rules of the NAT both clients share (router-a, or the carrier NAT).</summary>
    public static string SharedNatIpv4Rules(LabVariant variant)
    {
        string hairpin = variant == LabVariant.SameNatReset
            ? $"-A INPUT -i lan0 -d {SharedPublicV4} -p tcp --syn -j REJECT --reject-with tcp-reset"
            : $"-A INPUT -i lan0 -d {SharedPublicV4} -p tcp -j DROP";
        return Ipv4Rules(Policy(variant)).Replace("-A INPUT -i wan0 -j DROP\n", $"-A INPUT -i wan0 -j DROP\n{hairpin}\n", StringComparison.Ordinal);
    }

    /// <summary>Every router's rules in a shared-NAT lab, as `natlab rules` prints them.</summary>
    public static string SharedNatRulesText(LabVariant variant) => variant == LabVariant.CarrierNat
        ? $"# carrier NAT iptables-restore input\n{SharedNatIpv4Rules(variant)}# home routers iptables-restore input\n{Ipv4Rules(LabVariant.Drop)}"
        : $"# router-a iptables-restore input ({variant.Name()})\n{SharedNatIpv4Rules(variant)}# router-a ip6tables-restore input\n{Ipv6Rules(Policy(variant))}";

    /// <summary>The unsolicited-inbound policy the shared NAT otherwise follows.</summary>
    private static LabVariant Policy(LabVariant variant) => variant == LabVariant.SameNatReset ? LabVariant.Reset : LabVariant.Drop;

    private (LabHost? Carrier, LabHost RouterA, LabHost? RouterB, LabHost ClientA, LabHost ClientB) SharedNatHosts(LabVariant variant)
    {
        static IPAddress A(string text) => IPAddress.Parse(text);
        if (variant == LabVariant.CarrierNat)
        {
            var carrier = Host("carrier", "cgn", SharedPublicV4, A("2001:db8:a::2"), SharedPublicV4);
            var homeA = Host("router-a", "ra", A("100.64.0.11"), null, SharedPublicV4);
            var homeB = Host("router-b", "rb", A("100.64.0.12"), null, SharedPublicV4);
            return (carrier, homeA, homeB,
                Host("client-a", "a", A("100.64.1.2"), null, SharedPublicV4),
                Host("client-b", "b", A("100.64.2.2"), null, SharedPublicV4));
        }
        var router = Host("router-a", "ra", SharedPublicV4, A("2001:db8:a::2"), SharedPublicV4);
        return (null, router, null,
            Host("client-a", "a", A("100.64.1.2"), A("2001:db8:1::2"), SharedPublicV4),
            Host("client-b", "b", A("100.64.1.3"), A("2001:db8:1::3"), SharedPublicV4));
    }

    /// <summary>Steps 3 to 5 of the build for the shared-NAT labs (the namespaces and sysctls exist).</summary>
    private void BuildSharedNat()
    {
        // The shared NAT's LAN is a bridge in its own namespace: bridged frames must not meet its filter.
        var shared = Carrier ?? RouterA;
        NetNs.SetSysctls(shared.Namespace,
        [
            ("net.bridge.bridge-nf-call-iptables", "0", true),
            ("net.bridge.bridge-nf-call-ip6tables", "0", true),
            ("net.bridge.bridge-nf-call-arptables", "0", true),
        ]);
        string net = Internet.Namespace;
        var wires = new List<string>
        {
            $"link add eth0 netns {Server.Namespace} type veth peer name srv netns {net}",
            $"link add ix0 netns {IspA.Namespace} type veth peer name isp-a netns {net}",
            $"link add acc0 netns {IspA.Namespace} type veth peer name wan0 netns {shared.Namespace}",
        };
        var lanPorts = Carrier is null
            ? new[] { ("port-a", ClientA, "eth0"), ("port-b", ClientB, "eth0") }
            : [("home-a", RouterA, "wan0"), ("home-b", RouterB!, "wan0")];
        wires.AddRange(lanPorts.Select(p => $"link add {p.Item1} netns {shared.Namespace} type veth peer name {p.Item3} netns {p.Item2.Namespace}"));
        if (Carrier is not null)
        {
            wires.Add($"link add lan0 netns {RouterA.Namespace} type veth peer name eth0 netns {ClientA.Namespace}");
            wires.Add($"link add lan0 netns {RouterB!.Namespace} type veth peer name eth0 netns {ClientB.Namespace}");
        }
        Batch(null, wires);

        BuildExchange("srv", "isp-a");
        ConfigureServer(SiteRoutes(IspA, 'a', 1));
        ConfigureIsp(IspA, 'a', 1, shared, []);

        string lan = Carrier is null ? "100.64.1" : "100.64.0";
        Batch(shared,
        [
            "link set lo up",
            $"addr add {shared.V4}/28 dev wan0",
            $"addr add {shared.V6}/64 dev wan0 nodad",
            "link add lan0 type bridge",
            "link set lan0 type bridge mcast_snooping 0",
            $"addr add {lan}.1/24 dev lan0",
            .. Carrier is null ? ["addr add 2001:db8:1::1/64 dev lan0 nodad"] : Array.Empty<string>(),
            "link set wan0 up",
            "link set lan0 up",
            .. lanPorts.SelectMany(p => new[] { $"link set dev {p.Item1} master lan0", $"link set dev {p.Item1} up" }),
            // A carrier's subscribers reach the carrier NAT, not each other.
            .. Carrier is null ? Array.Empty<string>() : lanPorts.Select(p => $"link set dev {p.Item1} type bridge_slave isolated on"),
            $"route add default via {AccessGateway(1)}",
            "route add default via 2001:db8:a::1",
        ]);
        Command.Run("ip", ["netns", "exec", shared.Namespace, "iptables-restore"], SharedNatIpv4Rules(Variant));
        if (Carrier is null)
        {
            Command.Run("ip", ["netns", "exec", shared.Namespace, "ip6tables-restore"], Ipv6Rules(Policy(Variant)));
            ConfigureLanClient(ClientA, lan, v6: true);
            ConfigureLanClient(ClientB, lan, v6: true);
            return;
        }
        foreach (var (home, client, site) in new[] { (RouterA, ClientA, 1), (RouterB!, ClientB, 2) })
        {
            Batch(home,
            [
                "link set lo up",
                $"addr add {home.V4}/24 dev wan0",
                $"addr add 100.64.{site}.1/24 dev lan0",
                "link set wan0 up",
                "link set lan0 up",
                "route add default via 100.64.0.1",
            ]);
            Command.Run("ip", ["netns", "exec", home.Namespace, "iptables-restore"], Ipv4Rules(LabVariant.Drop));
            ConfigureLanClient(client, $"100.64.{site}", v6: false);
        }
    }

    /// <summary>A client on a /24 LAN whose router is .1 (and, for IPv6, 2001:db8:1::1).</summary>
    private static void ConfigureLanClient(LabHost client, string lan, bool v6) =>
        Batch(client,
        [
            "link set lo up",
            $"addr add {client.V4}/24 dev eth0",
            "link set eth0 up",
            $"route add default via {lan}.1",
            .. v6 ? [$"addr add {client.V6}/64 dev eth0 nodad", "route add default via 2001:db8:1::1"] : Array.Empty<string>(),
        ]);
}

public static class SharedNatVariants
{
    /// <summary>A lab where both clients are behind one NAT (Lab.SharedNat.cs).</summary>
    public static bool IsSharedNat(this LabVariant variant) =>
        variant is LabVariant.SameNatDrop or LabVariant.SameNatReset or LabVariant.CarrierNat;
}
