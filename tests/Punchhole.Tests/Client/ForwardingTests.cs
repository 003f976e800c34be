using System.Net;
using System.Net.Sockets;
using System.Text;
using Punchhole.Tests.Support;

namespace Punchhole.Tests.Client;

/// <summary>-L and -R as processes: host names, one connection in plain mode, a peer that goes away while -L waits.</summary>
public class ForwardingTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [Fact(Timeout = 90_000)]
    public async Task Host_names_work_on_both_sides_and_a_second_local_connection_is_refused_clearly()
    {
        using var echo = EchoService.Start();
        using var server = new ServerHost();
        string[] at = ClientProgram.Server(server.EndPoint().Port);
        // Plain mode: one connection, and a second one refused (the secure mode carries many).
        using var service = ClientProgram.Start([.. at, "--plain", "-R", $"localhost:{echo.Port}", "names"]);
        using var listen = ClientProgram.Start([.. at, "--plain", "-L", "localhost:0", "names"]);
        int port = ExitStatusTests.ListeningPort(await listen.WaitForLineAsync("listening on 127.0.0.1:"));
        await listen.WaitForLineAsync("connected to");

        using var first = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await first.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port));
        await first.SendAsync("ping\n"u8.ToArray(), SocketFlags.None);
        var buffer = new byte[5];
        using (var timeout = new CancellationTokenSource(Wait))
        {
            Assert.Equal(5, await first.ReceiveAsync(buffer, SocketFlags.None, timeout.Token));
        }
        Assert.Equal("ping\n", Encoding.ASCII.GetString(buffer));

        // Plain mode carries one connection: a browser's second connection is reset, and the user told why.
        Assert.Equal("reset", await ExitStatusTests.LocalClientOutcomeAsync(port));
        await listen.WaitForLineAsync("carries one connection");

        byte[] data = StreamCheck.RandomBytes(1 << 20);
        var echoed = StreamCheck.ReadToEndAsync(first, Wait);
        await StreamCheck.SendAllAsync(first, data, Wait);
        Assert.Equal(StreamCheck.Digest(data), (await echoed).Digest);
        Assert.Equal(0, await listen.WaitForExitAsync(Wait));
        Assert.Equal(0, await service.WaitForExitAsync(Wait));
        ClientProgram.AssertReadable(listen);
    }

    [Theory(Timeout = 60_000)]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Listen_stops_waiting_for_its_local_connection_when_the_peer_goes_away(bool reset)
    {
        using var run = new ClientWithPlainPeer(["-L", "0", "k"]);
        using (var connection = await run.AcceptAsync())
        {
            // Once the client has the connection: a reset sooner would end its connect, and it would try again.
            await run.Client.WaitForLineAsync("waiting for a connection on");
            if (reset)
            {
                connection.LingerState = new LingerOption(true, 0);
            }
        }
        Assert.Equal(1, await run.Client.WaitForExitAsync(Wait));
        Assert.Contains(run.Client.Lines, l => l.Contains("the peer", StringComparison.Ordinal) && l.Contains("before a local connection", StringComparison.Ordinal));
        ClientProgram.AssertReadable(run.Client);
    }

    [Fact(Timeout = 60_000)]
    public async Task Listen_passes_on_what_the_peer_sent_before_the_local_connection_came()
    {
        // An SSH server speaks first: its banner can arrive before the local ssh connects.
        using var run = new ClientWithPlainPeer(["-L", "0", "k"]);
        int port = ExitStatusTests.ListeningPort(await run.Client.WaitForLineAsync("listening on 127.0.0.1:"));
        using var connection = await run.AcceptAsync();
        await connection.SendAsync("SSH-2.0-banner\r\n"u8.ToArray(), SocketFlags.None);
        await run.Client.WaitForLineAsync("connected to");

        using var local = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await local.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port));
        // The peer's EOF only once the client has the local connection: before, it would mean the peer gave up.
        await run.Client.WaitForLineAsync("forwarding 127.0.0.1:");
        connection.Shutdown(SocketShutdown.Send);
        local.Shutdown(SocketShutdown.Send);
        var (count, digest) = await StreamCheck.ReadToEndAsync(local, Wait);
        Assert.Equal(StreamCheck.Digest("SSH-2.0-banner\r\n"u8), digest);
        Assert.Equal(16, count);
        Assert.Equal(0, (await StreamCheck.ReadToEndAsync(connection, Wait)).Count);
        Assert.Equal(0, await run.Client.WaitForExitAsync(Wait));
    }
}
