using System.Net.Sockets;

namespace Punchhole.Client.Punch;

/// <summary>
/// A bound on how long a punched connection may go without the peer acknowledging what this side
/// sent (Linux TCP_USER_TIMEOUT): past it the kernel ends the connection with ETIMEDOUT, and the
/// relay fails with one line and exit 1 instead of waiting for the kernel's own limit (about
/// 15 minutes of retransmissions). It also bounds keepalive: probes unanswered that long end the
/// connection. A punch can come up with one direction dead, which nothing else would notice: a
/// NAT whose conntrack entry lost step with its client (docs/NAT.md, "Crossing resets") passes
/// the peer's packets and drops every one of ours.
/// </summary>
internal static class DeadPathBound
{
    public static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    private const int IpProtocolTcp = 6;
    private const int TcpUserTimeout = 18;

    public static void Apply(Socket socket)
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }
        try
        {
            socket.SetRawSocketOption(IpProtocolTcp, TcpUserTimeout, BitConverter.GetBytes((int)Limit.TotalMilliseconds));
        }
        catch (SocketException)
        {
            // A kernel without the option (before 2.6.37): the kernel's own limit applies.
        }
    }
}
