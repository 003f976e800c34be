using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Punchhole.Protocol;
using Punchhole.Protocol.V2;

namespace Punchhole.Client.Rendezvous;

/// <summary>
/// The local addresses a peer on the same LAN (or behind the same NAT) may reach this side at,
/// each with the port the punch uses: the bound address when the port is bound to one, else every
/// address of every interface that is up, in the port's family. Loopback, link-local and
/// unspecified addresses are left out (they name another host on the peer's side), and so is the
/// address the server observed (the peer gets that one anyway). At most
/// <see cref="TStun2.MaxCandidates"/>: they are hints, so a failure to list them means none.
/// </summary>
internal static class LocalCandidates
{
    public static PeerAddress[] Of(IPEndPoint local, IPEndPoint? observed = null)
    {
        var found = new List<PeerAddress>(TStun2.MaxCandidates);
        foreach (var address in Addresses(local))
        {
            if (found.Count == TStun2.MaxCandidates)
            {
                break;
            }
            if (address.AddressFamily != local.AddressFamily || !IsCandidate(address))
            {
                continue;
            }
            var endPoint = new IPEndPoint(address, local.Port);
            if (endPoint.Equals(observed))
            {
                continue;
            }
            var candidate = PeerAddress.FromEndPoint(endPoint);
            if (!found.Contains(candidate))
            {
                found.Add(candidate);
            }
        }
        return [.. found];
    }

    private static IEnumerable<IPAddress> Addresses(IPEndPoint local)
    {
        if (!local.Address.Equals(IPAddress.Any) && !local.Address.Equals(IPAddress.IPv6Any))
        {
            return [local.Address];
        }
        try
        {
            return NetworkInterface.GetAllNetworkInterfaces()
                .Where(i => i.OperationalStatus is OperationalStatus.Up or OperationalStatus.Unknown
                    && i.NetworkInterfaceType != NetworkInterfaceType.Loopback)
                .SelectMany(i => i.GetIPProperties().UnicastAddresses)
                .Select(u => u.Address)
                .ToArray();
        }
        // Listing the interfaces reads /proc, /sys and /etc/resolv.conf, which an empty root (a
        // chroot, a minimal container) lacks: then there are no candidates, and nothing else is lost.
        catch (Exception e) when (e is NetworkInformationException or SocketException or PlatformNotSupportedException
            or IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    private static bool IsCandidate(IPAddress address)
    {
        if (IPAddress.IsLoopback(address))
        {
            return false;
        }
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            Span<byte> bytes = stackalloc byte[4];
            address.TryWriteBytes(bytes, out _);
            // 0.0.0.0/8 is "this network"; 169.254.0.0/16 is link-local.
            return bytes[0] != 0 && !(bytes[0] == 169 && bytes[1] == 254);
        }
        return !address.IsIPv6LinkLocal && !address.IsIPv6Multicast && !address.IsIPv4MappedToIPv6
            && !address.Equals(IPAddress.IPv6Any);
    }
}
