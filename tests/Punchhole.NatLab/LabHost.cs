using System.Net;
using System.Net.Sockets;

namespace Punchhole.NatLab;

/// <summary>One machine of the lab: a network namespace with its addresses.</summary>
/// <param name="Role">server, router-a, client-a, ...</param>
/// <param name="Namespace">the network namespace's name (unique per lab)</param>
/// <param name="V4">its own IPv4 address (null for the bridge)</param>
/// <param name="V6">its own IPv6 address (null for the bridge)</param>
/// <param name="PublicV4">the IPv4 address the internet sees it as: the router's for a NATed host</param>
public sealed record LabHost(string Role, string Namespace, IPAddress? V4, IPAddress? V6, IPAddress? PublicV4)
{
    public IPAddress Address(AddressFamily family) =>
        (family == AddressFamily.InterNetworkV6 ? V6 : V4) ?? throw new InvalidOperationException($"{Role} has no {family} address");

    /// <summary>The address the internet sees: the NAT's for IPv4 behind a router, the host's own for IPv6.</summary>
    public IPAddress PublicAddress(AddressFamily family) =>
        (family == AddressFamily.InterNetworkV6 ? V6 : PublicV4) ?? throw new InvalidOperationException($"{Role} has no public {family} address");

    public override string ToString() => $"{Role} ({Namespace})";
}
