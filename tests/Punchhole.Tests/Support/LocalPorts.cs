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

    private static int s_lastLoopback;

    /// <summary>
    /// A loopback address no other test uses (all of 127.0.0.0/8 is loopback on Linux), for a server
    /// whose counters must not see a stray connection: another test's client or probe that reaches a
    /// port the system has since handed to this server reaches 127.0.0.1, not this address.
    /// </summary>
    public static IPAddress UniqueLoopback()
    {
        int n = Interlocked.Increment(ref s_lastLoopback);
        return new IPAddress([127, (byte)(16 + Environment.ProcessId % 200), (byte)(n / 250), (byte)(1 + n % 250)]);
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
