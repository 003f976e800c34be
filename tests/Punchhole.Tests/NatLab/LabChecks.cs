using System.Net;
using System.Net.Sockets;
using Punchhole.NatLab;

namespace Punchhole.Tests.NatLab;

/// <summary>Checks of the lab itself, shared by the variant test classes.</summary>
internal static class LabChecks
{
    public static readonly TimeSpan SilenceWait = TimeSpan.FromSeconds(1.5);

    /// <summary>
    /// Both clients ask tstun from a local port each; checks that each is told the other's public
    /// endpoint: the router's address (IPv4 NAT) or the host's own (IPv6, public peer), and with
    /// <paramref name="portKept"/> the local port unchanged. Returns the endpoints told.
    /// </summary>
    public static async Task<(IPEndPoint PeerOfA, IPEndPoint PeerOfB, int PortA, int PortB)> BothClientsReachTStunAsync(
        Lab lab, AddressFamily family, bool portKept)
    {
        using var holdA = LabSockets.Bound(lab.ClientA, family);
        using var holdB = LabSockets.Bound(lab.ClientB, family);
        int portA = holdA.Port(), portB = holdB.Port();
        var (peerOfA, peerOfB) = await LabSockets.PairAsync(lab.ClientA, portA, lab.ClientB, portB, family);
        Assert.Equal(lab.ClientB.PublicAddress(family), peerOfA.Address);
        Assert.Equal(lab.ClientA.PublicAddress(family), peerOfB.Address);
        if (portKept)
        {
            Assert.Equal(portB, peerOfA.Port);
            Assert.Equal(portA, peerOfB.Port);
        }
        return (peerOfA, peerOfB, portA, portB);
    }

    /// <summary>
    /// Client A talks to tstun from a port (so its router holds a mapping for it); then the server host
    /// sends a SYN from another port to that public endpoint: an unsolicited SYN. Returns what the
    /// server's connect() saw.
    /// </summary>
    public static async Task<ConnectOutcome> UnsolicitedSynToClientAAsync(Lab lab, AddressFamily family)
    {
        using var holdA = LabSockets.Bound(lab.ClientA, family);
        using var holdB = LabSockets.Bound(lab.ClientB, family);
        var (_, peerOfB) = await LabSockets.PairAsync(lab.ClientA, holdA.Port(), lab.ClientB, holdB.Port(), family);
        using var stranger = LabSockets.Bound(lab.Server, family);
        return await LabSockets.ConnectAsync(stranger, peerOfB, SilenceWait);
    }

    /// <summary>
    /// The original client's algorithm with the order fixed: both clients bind a port and learn each
    /// other's endpoint from tstun; <paramref name="first"/> connects, and 300 ms later the other one.
    /// The first SYN meets the other side's router before that side has sent anything.
    /// </summary>
    public static async Task<PunchAttempt> OriginalAlgorithmAsync(Lab lab, AddressFamily family, LabHost first, TimeSpan wait)
    {
        var second = first == lab.ClientA ? lab.ClientB : lab.ClientA;
        var socketFirst = LabSockets.Bound(first, family);
        var socketSecond = LabSockets.Bound(second, family);
        var (peerOfFirst, peerOfSecond) = await LabSockets.PairAsync(first, socketFirst.Port(), second, socketSecond.Port(), family);
        var connectFirst = LabSockets.ConnectAsync(socketFirst, peerOfFirst, wait);
        await Task.Delay(300);
        var connectSecond = LabSockets.ConnectAsync(socketSecond, peerOfSecond, wait);
        return new PunchAttempt(socketFirst, await connectFirst, socketSecond, await connectSecond, peerOfFirst, peerOfSecond);
    }

    /// <summary>Packets counted by the router rule whose text contains <paramref name="rule"/> (iptables -v).</summary>
    public static long RulePackets(LabHost router, string tool, string chain, string rule)
    {
        string listing = Command.Run("ip", ["netns", "exec", router.Namespace, tool, "-L", chain, "-v", "-n", "-x"]);
        foreach (string line in listing.Split('\n'))
        {
            if (line.Contains(rule, StringComparison.Ordinal))
            {
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[0], System.Globalization.CultureInfo.InvariantCulture);
            }
        }
        throw new InvalidOperationException($"no rule '{rule}' in {chain} of {router}:\n{listing}");
    }
}

internal sealed record PunchAttempt(
    Socket First, ConnectOutcome FirstOutcome, Socket Second, ConnectOutcome SecondOutcome,
    IPEndPoint PeerOfFirst, IPEndPoint PeerOfSecond) : IDisposable
{
    public void Dispose()
    {
        First.Dispose();
        Second.Dispose();
    }
}
