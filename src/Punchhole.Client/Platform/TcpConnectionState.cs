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
    private const byte TcpTimeWait = 6;
    private const byte TcpClose = 7;
    private const byte TcpCloseWait = 8;
    private const byte TcpLastAck = 9;
    private const byte TcpClosing = 11;
    private const int TcpCork = 3;

    /// <summary>
    /// True when the connection is closed in the kernel: after a read returned 0 while our side
    /// still sends (no FIN of ours yet), that means a reset, not the peer's FIN.
    /// </summary>
    public static bool IsClosed(Socket socket) => State(socket) == TcpClose;

    /// <summary>
    /// True when the other side's FIN has arrived (in order: every byte before it is in the
    /// receive queue already), and no reset since.
    /// </summary>
    public static bool FinReceived(Socket socket) => State(socket) is TcpCloseWait or TcpLastAck or TcpClosing or TcpTimeWait;

    /// <summary>
    /// TCP_CORK (Linux): sends only full segments until the socket is uncorked or shut down, so
    /// that a FIN sent next leaves on the same segment as the last bytes. Elsewhere nothing.
    /// </summary>
    public static void Cork(Socket socket)
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }
        Span<byte> on = stackalloc byte[sizeof(int)];
        BitConverter.TryWriteBytes(on, 1);
        try
        {
            socket.SetRawSocketOption(IpProtocolTcp, TcpCork, on);
        }
        catch (SocketException)
        {
            // The connection failed already: the write that follows says so.
        }
    }

    /// <summary>The kernel's state number (tcpi_state), or 0 when not known.</summary>
    private static byte State(Socket socket)
    {
        if (!OperatingSystem.IsLinux())
        {
            return 0;
        }
        Span<byte> info = stackalloc byte[8];
        try
        {
            return socket.GetRawSocketOption(IpProtocolTcp, TcpInfo, info) >= 1 ? info[0] : (byte)0;
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            return 0;
        }
    }
}
