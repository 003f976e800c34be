using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;

namespace Punchhole.Client.Punch;

/// <summary>The line that tells the user which way the connection to the peer goes.</summary>
internal static class ConnectionPath
{
    /// <summary>
    /// A punched or candidate connection, by the kind of address it reached the peer at: a private
    /// address, or one on a network this host is attached to, is the LAN. <paramref name="candidate"/>
    /// says it is one of the peer's local addresses rather than the public one the server saw.
    /// </summary>
    public static string Direct(IPEndPoint peer, bool candidate = false) => Scope(peer.Address) switch
    {
        AddressScope.ThisHost => $"connected directly on this host ({peer})",
        AddressScope.Local => $"connected directly over the LAN ({peer})",
        _ when candidate => $"connected directly to the peer's own address ({peer})",
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
            return address.IsIPv6LinkLocal || (address.GetAddressBytes()[0] & 0xFE) == 0xFC || OnLink(address) ? AddressScope.Local : AddressScope.Global;
        }
        byte[] b = address.GetAddressBytes();
        // RFC 1918 private networks and link-local (169.254/16). Carrier NAT space (100.64/10) is
        // not a LAN by itself (two hosts there are in different homes), only when it is on-link.
        bool local = b[0] == 10 || (b[0] == 172 && (b[1] & 0xF0) == 16) || (b[0] == 192 && b[1] == 168) || (b[0] == 169 && b[1] == 254);
        return local || OnLink(address) ? AddressScope.Local : AddressScope.Global;
    }

    /// <summary>The address is in the prefix of one of this host's own interface addresses: the peer is on our link.</summary>
    private static bool OnLink(IPAddress address)
    {
        try
        {
            foreach (var network in NetworkInterface.GetAllNetworkInterfaces())
            {
                if (network.NetworkInterfaceType == NetworkInterfaceType.Loopback)
                {
                    continue;
                }
                foreach (var own in network.GetIPProperties().UnicastAddresses)
                {
                    if (own.Address.AddressFamily == address.AddressFamily && SamePrefix(own.Address, address, own.PrefixLength))
                    {
                        return true;
                    }
                }
            }
        }
        // As for the candidates: a host whose interfaces cannot be listed just says less.
        catch (Exception e) when (e is NetworkInformationException or SocketException or PlatformNotSupportedException
            or IOException or UnauthorizedAccessException)
        {
            return false;
        }
        return false;
    }

    private static bool SamePrefix(IPAddress a, IPAddress b, int bits)
    {
        byte[] x = a.GetAddressBytes(), y = b.GetAddressBytes();
        if (bits <= 0 || bits > x.Length * 8)
        {
            return false;
        }
        int whole = bits / 8, rest = bits % 8;
        if (!x.AsSpan(0, whole).SequenceEqual(y.AsSpan(0, whole)))
        {
            return false;
        }
        int mask = (0xFF00 >> rest) & 0xFF;
        return rest == 0 || (x[whole] & mask) == (y[whole] & mask);
    }
}
