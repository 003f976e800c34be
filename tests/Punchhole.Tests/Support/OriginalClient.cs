using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Punchhole.Tests.Support;

/// <summary>
/// The original T-STUN client's rendezvous, byte for byte, on a blocking socket: connect, send the
/// 32 key bytes, half-close at once, one <c>recv(52)</c>, and the first two white-space-separated
/// tokens of what that one call returned. Whatever a server sends beyond 52 bytes, or in a later
/// segment, this client never sees, as the original never does.
/// </summary>
internal static class OriginalClient
{
    /// <summary>What the original would use (its <c>split()[:2]</c> joined by a space), the raw bytes of its one recv, and its local address.</summary>
    public static Task<(string Used, string Received, IPEndPoint Local)> RendezvousAsync(
        IPEndPoint server, ReadOnlyMemory<byte> key, IPAddress? bind = null, TimeSpan? wait = null) => Task.Run(() =>
    {
        using var socket = new Socket(server.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        socket.ReceiveTimeout = (int)(wait ?? RendezvousClient.DefaultWait).TotalMilliseconds;
        socket.Bind(new IPEndPoint(bind ?? IPAddress.Loopback, 0));
        socket.Connect(server);
        var local = (IPEndPoint)socket.LocalEndPoint!;
        socket.Send(key.Span);
        socket.Shutdown(SocketShutdown.Send);
        var buffer = new byte[52];
        int n = socket.Receive(buffer);
        string received = Encoding.ASCII.GetString(buffer, 0, n);
        var tokens = received.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        return (string.Join(' ', tokens.Take(2)), received, local);
    });
}
