using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Punchhole.NatLab;

namespace Punchhole.Tests.NatLab;

internal enum ConnectOutcome
{
    Connected,
    Refused,
    TimedOut,
}

/// <summary>
/// Plain sockets on lab hosts, to check the lab itself without the client: the original client's
/// algorithm (bind a port, ask tstun from it, one connect() to the peer from it) in a few lines.
/// </summary>
internal static class LabSockets
{
    /// <summary>A TCP socket on <paramref name="host"/> with SO_REUSEADDR, bound to the wildcard address at <paramref name="port"/> (0: any).</summary>
    public static Socket Bound(LabHost host, AddressFamily family, int port = 0)
    {
        var socket = Lab.CreateSocket(host, family);
        socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        socket.Bind(new IPEndPoint(family == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, port));
        return socket;
    }

    public static int Port(this Socket socket) => ((IPEndPoint)socket.LocalEndPoint!).Port;

    /// <summary>One connect() with a bound wait: connected, refused (RST) or nothing at all.</summary>
    public static async Task<ConnectOutcome> ConnectAsync(Socket socket, IPEndPoint to, TimeSpan wait)
    {
        using var timeout = new CancellationTokenSource(wait);
        try
        {
            await socket.ConnectAsync(to, timeout.Token);
            return ConnectOutcome.Connected;
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionRefused)
        {
            return ConnectOutcome.Refused;
        }
        catch (OperationCanceledException)
        {
            return ConnectOutcome.TimedOut;
        }
    }

    /// <summary>A key no other test uses.</summary>
    public static byte[] NewKey() => SHA256.HashData(Encoding.UTF8.GetBytes($"natlab {Guid.NewGuid()}"));

    /// <summary>
    /// Asks the lab's tstun from <paramref name="host"/>, local port <paramref name="port"/>
    /// (SO_REUSEADDR, as the original client does): sends the key, half-closes, returns the peer
    /// endpoint from the reply.
    /// </summary>
    public static async Task<IPEndPoint> RendezvousAsync(LabHost host, AddressFamily family, int port, byte[] key)
    {
        using var socket = Bound(host, family, port);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await socket.ConnectAsync(new IPEndPoint(Lab.ServerAddress(family), Lab.TStunPort), timeout.Token);
        await socket.SendAsync(key, SocketFlags.None, timeout.Token);
        socket.Shutdown(SocketShutdown.Send);
        return await ReadReplyAsync(socket, timeout.Token);
    }

    /// <summary>Pairs <paramref name="a"/> and <paramref name="b"/> through tstun; returns what each was told about the other.</summary>
    public static async Task<(IPEndPoint PeerOfA, IPEndPoint PeerOfB)> PairAsync(LabHost a, int portA, LabHost b, int portB, AddressFamily family)
    {
        var key = NewKey();
        var forA = RendezvousAsync(a, family, portA, key);
        var forB = RendezvousAsync(b, family, portB, key);
        return (await forA, await forB);
    }

    public static IPEndPoint ParseReply(string reply)
    {
        var parts = reply.Split(' ');
        Assert.True(parts.Length == 2, $"reply '{reply}'");
        return new IPEndPoint(IPAddress.Parse(parts[0]), int.Parse(parts[1], CultureInfo.InvariantCulture));
    }

    /// <summary>A listener on <paramref name="host"/> that tells every client its observed "ADDR PORT" and closes.</summary>
    public static Socket StartEchoAddressServer(LabHost host, AddressFamily family, int port, CancellationToken stop)
    {
        var listener = Bound(host, family, port);
        listener.Listen();
        _ = Task.Run(async () =>
        {
            try
            {
                while (true)
                {
                    using var client = await listener.AcceptAsync(stop);
                    var remote = (IPEndPoint)client.RemoteEndPoint!;
                    await client.SendAsync(Encoding.ASCII.GetBytes($"{remote.Address} {remote.Port}"), SocketFlags.None, stop);
                    client.Shutdown(SocketShutdown.Both);
                }
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                // Stopped.
            }
        }, stop);
        return listener;
    }

    /// <summary>A TCP echo service on <paramref name="host"/> at <paramref name="bind"/>: what arrives goes back, EOF is answered with EOF.</summary>
    public static Socket StartEchoServer(LabHost host, IPEndPoint bind, CancellationToken stop)
    {
        var listener = Lab.CreateSocket(host, bind.AddressFamily);
        listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        listener.Bind(bind);
        listener.Listen();
        _ = Task.Run(async () =>
        {
            try
            {
                while (true)
                {
                    var client = await listener.AcceptAsync(stop);
                    _ = Task.Run(async () =>
                    {
                        using (client)
                        {
                            var buffer = new byte[64 * 1024];
                            int n;
                            while ((n = await client.ReceiveAsync(buffer, SocketFlags.None, stop)) > 0)
                            {
                                await client.SendAsync(buffer.AsMemory(0, n), SocketFlags.None, stop);
                            }
                            client.Shutdown(SocketShutdown.Send);
                        }
                    }, stop);
                }
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                // Stopped.
            }
        }, stop);
        return listener;
    }

    /// <summary>Connects from <paramref name="host"/> to <paramref name="to"/>, retrying while it is refused (the listener may not be up yet).</summary>
    public static async Task<Socket> ConnectRetryingAsync(LabHost host, IPEndPoint to, TimeSpan wait)
    {
        var deadline = DateTime.UtcNow + wait;
        while (true)
        {
            var socket = Lab.CreateSocket(host, to.AddressFamily);
            var outcome = await ConnectAsync(socket, to, TimeSpan.FromSeconds(5));
            if (outcome == ConnectOutcome.Connected)
            {
                return socket;
            }
            socket.Dispose();
            Assert.True(DateTime.UtcNow < deadline, $"{to} on {host} still {outcome} after {wait}");
            await Task.Delay(100);
        }
    }

    /// <summary>Connects from <paramref name="host"/>'s local <paramref name="port"/> to an address server; returns the observed endpoint.</summary>
    public static async Task<IPEndPoint> ObservedFromAsync(LabHost host, AddressFamily family, int port, IPEndPoint server)
    {
        using var socket = Bound(host, family, port);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await socket.ConnectAsync(server, timeout.Token);
        return await ReadReplyAsync(socket, timeout.Token);
    }

    /// <summary>Reads an ADDR PORT reply up to the sender's EOF.</summary>
    private static async Task<IPEndPoint> ReadReplyAsync(Socket socket, CancellationToken cancel)
    {
        var buffer = new byte[64];
        int total = 0;
        while (true)
        {
            int n = await socket.ReceiveAsync(buffer.AsMemory(total), SocketFlags.None, cancel);
            if (n == 0)
            {
                break;
            }
            total += n;
        }
        return ParseReply(Encoding.ASCII.GetString(buffer, 0, total));
    }

    /// <summary>Sends a line each way over a connected pair and checks it arrives.</summary>
    public static async Task ExchangeAsync(Socket a, Socket b)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        foreach (var (from, to) in new[] { (a, b), (b, a) })
        {
            byte[] message = Encoding.ASCII.GetBytes($"hello from {from.LocalEndPoint}\n");
            await from.SendAsync(message, SocketFlags.None, timeout.Token);
            var received = new byte[message.Length];
            int total = 0;
            while (total < received.Length)
            {
                int n = await to.ReceiveAsync(received.AsMemory(total), SocketFlags.None, timeout.Token);
                Assert.NotEqual(0, n);
                total += n;
            }
            Assert.Equal(message, received);
        }
    }
}
