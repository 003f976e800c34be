namespace Punchhole.NatLab;

/// <summary>How the lab's routers treat traffic; each lab is built for one variant.</summary>
public enum LabVariant
{
    /// <summary>
    /// Both clients behind port-preserving NAT (IPv4) and a stateful firewall (IPv6) that silently
    /// drop unsolicited inbound packets (RFC 5382 REQ-4). The IPv6 side is the "v6 firewall" variant.
    /// </summary>
    Drop,

    /// <summary>As <see cref="Drop"/>, but an unsolicited inbound SYN is answered with a TCP RST.</summary>
    Reset,

    /// <summary>
    /// IPv4 NAT that gives every new connection a random external port (MASQUERADE --random-fully):
    /// a symmetric NAT. Unsolicited inbound packets are dropped. IPv6 is as in <see cref="Drop"/>.
    /// </summary>
    RandomPort,

    /// <summary>Client A behind the <see cref="Drop"/> router; client B on the internet itself, no NAT, no firewall.</summary>
    PublicPeer,

    /// <summary>Client A behind a <see cref="Drop"/> router, client B behind a <see cref="Reset"/> router (IPv4 and IPv6).</summary>
    Mixed,

    /// <summary>Both clients on one LAN behind one <see cref="Drop"/> router that does not hairpin (Lab.SharedNat.cs).</summary>
    SameNatDrop,

    /// <summary>As <see cref="SameNatDrop"/>, with the <see cref="Reset"/> router.</summary>
    SameNatReset,

    /// <summary>Two home NATs behind one carrier NAT (100.64.0.0/10) that does not hairpin; IPv4 only (Lab.SharedNat.cs).</summary>
    CarrierNat,
}

public static class LabVariants
{
    public static readonly IReadOnlyList<LabVariant> All = Enum.GetValues<LabVariant>();

    /// <summary>The short name used on command lines and in namespace names.</summary>
    public static string Name(this LabVariant variant) => variant switch
    {
        LabVariant.Drop => "drop",
        LabVariant.Reset => "rst",
        LabVariant.RandomPort => "random-port",
        LabVariant.PublicPeer => "public-peer",
        LabVariant.Mixed => "mixed",
        LabVariant.SameNatDrop => "same-nat-drop",
        LabVariant.SameNatReset => "same-nat-rst",
        LabVariant.CarrierNat => "carrier-nat",
        _ => throw new ArgumentOutOfRangeException(nameof(variant)),
    };

    public static LabVariant Parse(string name) =>
        All.FirstOrDefault(v => v.Name() == name, (LabVariant)(-1)) is var v && Enum.IsDefined(v)
            ? v
            : throw new ArgumentException($"unknown lab variant '{name}' (one of: {string.Join(", ", All.Select(Name))})", nameof(name));
}
