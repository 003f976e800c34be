using System.Net;
using System.Net.Sockets;
using Punchhole.Client;
using Punchhole.Client.Punch;

namespace Punchhole.Tests.Client;

/// <summary>
/// Two punches on one local port, each to its own target (the public endpoint and a LAN
/// candidate): a connection accepted on the port reaches the punch that waits for its remote
/// endpoint, never the other; one from an endpoint nobody waits for is reset.
/// </summary>
public class PortArrivalsTests
{
    [Fact(Timeout = 20_000)]
    public async Task Each_waiting_punch_gets_the_connection_from_its_own_peer_and_a_stranger_is_reset()
    {
        using var port = LocalPort.Reserve(IPAddress.Loopback, AddressFamily.InterNetwork);
        var log = new ClientLog(TextWriter.Null, verbose: false);
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        using var first = Bound();
        using var second = Bound();
        using var stranger = Bound();
        var forFirst = port.Arrivals.WaitForAsync(Local(first), log, stop.Token);
        var forSecond = port.Arrivals.WaitForAsync(Local(second), log, stop.Token);

        var buffer = new byte[1];
        // The reset may come before the connect is seen to complete, or after.
        var reset = await Assert.ThrowsAsync<SocketException>(async () =>
        {
            await stranger.ConnectAsync(port.EndPoint, stop.Token);
            await stranger.ReceiveAsync(buffer, SocketFlags.None, stop.Token);
        });
        Assert.Equal(SocketError.ConnectionReset, reset.SocketErrorCode);

        await second.ConnectAsync(port.EndPoint, stop.Token);
        await first.ConnectAsync(port.EndPoint, stop.Token);
        using var gotFirst = await forFirst;
        using var gotSecond = await forSecond;
        Assert.Equal(Local(first), gotFirst!.RemoteEndPoint);
        Assert.Equal(Local(second), gotSecond!.RemoteEndPoint);
        Assert.Equal(1, port.Arrivals.Strangers);
    }

    [Fact(Timeout = 20_000)]
    public async Task A_wait_ends_with_null_when_its_punch_stops_and_the_port_serves_the_next()
    {
        using var port = LocalPort.Reserve(IPAddress.Loopback, AddressFamily.InterNetwork);
        var log = new ClientLog(TextWriter.Null, verbose: false);
        using var peer = Bound();
        using (var stopped = new CancellationTokenSource(TimeSpan.FromMilliseconds(100)))
        {
            Assert.Null(await port.Arrivals.WaitForAsync(Local(peer), log, stopped.Token));
        }
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        var again = port.Arrivals.WaitForAsync(Local(peer), log, stop.Token);
        await peer.ConnectAsync(port.EndPoint, stop.Token);
        using var got = await again;
        Assert.Equal(Local(peer), got!.RemoteEndPoint);
    }

    private static Socket Bound()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return socket;
    }

    private static IPEndPoint Local(Socket socket) => (IPEndPoint)socket.LocalEndPoint!;
}
