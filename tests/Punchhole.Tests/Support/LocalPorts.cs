using System.Net;
using System.Net.Sockets;

namespace Punchhole.Tests.Support;

/// <summary>Ports on this machine for programs the tests start with a port of their choosing.</summary>
internal static class LocalPorts
{
    /// <summary>A TCP port free on both loopbacks right now (the system picked it; nothing holds it once this returns).</summary>
    public static int Free()
    {
        using var probe = new Socket(AddressFamily.InterNetworkV6, SocketType.Stream, ProtocolType.Tcp) { DualMode = true };
        probe.Bind(new IPEndPoint(IPAddress.IPv6Any, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }

    /// <summary>
    /// Waits until something accepts connections at <paramref name="endPoint"/>; false if nothing does
    /// within <paramref name="wait"/>. <paramref name="createSocket"/> makes the probing socket (one in
    /// another network namespace, say); a plain one of the endpoint's family by default.
    /// </summary>
    public static Task<bool> AcceptsAsync(IPEndPoint endPoint, TimeSpan wait, Func<Socket>? createSocket = null) =>
        Pairing.EventuallyAsync(async () =>
        {
            using var socket = createSocket?.Invoke() ?? new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(1));
                await socket.ConnectAsync(endPoint, timeout.Token);
                return true;
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException)
            {
                return false;
            }
        }, wait, TimeSpan.FromMilliseconds(50));
}
