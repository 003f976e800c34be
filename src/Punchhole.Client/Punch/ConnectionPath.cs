using System.Net;
using System.Net.Sockets;

namespace Punchhole.Client.Punch;

/// <summary>The line that tells the user which way the connection to the peer goes.</summary>
internal static class ConnectionPath
{
    /// <summary>A punched or candidate connection, by the kind of address it reached the peer at.</summary>
    public static string Direct(IPEndPoint peer) => Scope(peer.Address) switch
    {
        AddressScope.ThisHost => $"connected directly on this host ({peer})",
        AddressScope.Local => $"connected directly over the LAN ({peer})",
        _ => $"connected directly over the Internet ({peer})",
    };

    /// <summary>A session through the T-STUN server's relay, which carries only encrypted bytes.</summary>
    public static string Relayed(IPEndPoint server) =>
        $"relayed through tstun (no direct path): via {server}, which sees only encrypted bytes";

    private enum AddressScope
    {
        ThisHost,
        Local,
        Global,
    }

    private static AddressScope Scope(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }
        if (IPAddress.IsLoopback(address))
        {
            return AddressScope.ThisHost;
        }
        if (address.AddressFamily == AddressFamily.InterNetworkV6)
        {
            // Link-local, and unique local addresses (fc00::/7).
            return address.IsIPv6LinkLocal || (address.GetAddressBytes()[0] & 0xFE) == 0xFC ? AddressScope.Local : AddressScope.Global;
        }
        byte[] b = address.GetAddressBytes();
        // RFC 1918 private networks and link-local (169.254/16). Carrier NAT space (100.64/10) is
        // not a LAN: two hosts there are in different homes.
        bool local = b[0] == 10 || (b[0] == 172 && (b[1] & 0xF0) == 16) || (b[0] == 192 && b[1] == 168) || (b[0] == 169 && b[1] == 254);
        return local ? AddressScope.Local : AddressScope.Global;
    }
}
