using System.Net.Sockets;

namespace Punchhole.Client.Platform;

/// <summary>
/// The kernel's TCP state of a connection (Linux TCP_INFO), to tell a reset from a FIN when the
/// error itself is gone: a reset leaves its error on the socket for the next call only, and if a
/// send takes it, the next receive returns 0 as if the peer had ended cleanly. A FIN leaves the
/// connection in CLOSE-WAIT until we end our side; a reset closes it at once. Elsewhere nothing
/// is known and the fallback trusts the EOF.
/// </summary>
internal static class TcpConnectionState
{
    private const int IpProtocolTcp = 6;
    private const int TcpInfo = 11;
    private const byte TcpClose = 7;

    /// <summary>
    /// True when the connection is closed in the kernel: after a read returned 0 while our side
    /// still sends (no FIN of ours yet), that means a reset, not the peer's FIN.
    /// </summary>
    public static bool IsClosed(Socket socket)
    {
        if (!OperatingSystem.IsLinux())
        {
            return false;
        }
        Span<byte> info = stackalloc byte[8];
        try
        {
            return socket.GetRawSocketOption(IpProtocolTcp, TcpInfo, info) >= 1 && info[0] == TcpClose;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
