using System.Net;
using System.Net.Sockets;
using Punchhole.Tests.Support;

namespace Punchhole.Tests.Client;

/// <summary>
/// Ctrl-C on the -L side of a secure session: the peer is told, in an authenticated record, how
/// the session ended, and says so truthfully: a clean end when no connection was open, "stopped
/// before the transfer finished" when one was. Never a bare FIN or reset left to interpretation.
/// </summary>
public class SecureInterruptTests
{
    private const int SIGINT = 2;
    private const string Code = "482913-aban-abel-abir";
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [Fact(Timeout = 90_000)]
    public async Task Ctrl_C_on_L_with_no_connection_open_ends_the_session_cleanly_on_both_sides()
    {
        using var echo = EchoService.Start();
        using var server = new ServerHost();
        var (remote, local, port) = await StartPairAsync(server, echo);
        using (remote)
        using (local)
        {
            // One connection that finished: the session carried data, and nothing is open now.
            using (var client = await ConnectAsync(port))
            {
                await client.SendAsync("ping\n"u8.ToArray(), SocketFlags.None);
                client.Shutdown(SocketShutdown.Send);
                var echoed = await StreamCheck.ReadToEndAsync(client, Wait);
                Assert.Equal(5, echoed.Count);
            }
            await Task.Delay(200);

            local.Signal(SIGINT);
            Assert.Equal(130, await local.WaitForExitAsync(Wait));
            Assert.Equal(0, await remote.WaitForExitAsync(Wait));
            Assert.Single(local.Lines, l => l.Contains("interrupted by SIGINT: no connection was open; the session ended cleanly", StringComparison.Ordinal));
            Assert.Contains(remote.Lines, l => l.Contains("the peer ended the session", StringComparison.Ordinal));
            ClientProgram.AssertReadable(local);
            ClientProgram.AssertReadable(remote);
        }
    }

    [Fact(Timeout = 90_000)]
    public async Task Ctrl_C_on_L_with_a_connection_open_makes_the_peer_report_an_abort_and_exit_1()
    {
        using var echo = EchoService.Start();
        using var server = new ServerHost();
        var (remote, local, port) = await StartPairAsync(server, echo);
        using (remote)
        using (local)
        {
            using var client = await ConnectAsync(port);
            await client.SendAsync("ping\n"u8.ToArray(), SocketFlags.None);
            byte[] buffer = new byte[5];
            using (var timeout = new CancellationTokenSource(Wait))
            {
                Assert.Equal(5, await client.ReceiveAsync(buffer, SocketFlags.None, timeout.Token));
            }

            local.Signal(SIGINT);
            Assert.Equal(130, await local.WaitForExitAsync(Wait));
            Assert.Equal(1, await remote.WaitForExitAsync(Wait));
            Assert.Single(local.Lines, l => l.Contains("interrupted by SIGINT: the peer was told that the session was aborted", StringComparison.Ordinal));
            Assert.Contains(remote.Lines, l => l.Contains("the other side stopped before the transfer finished", StringComparison.Ordinal));
            Assert.DoesNotContain(remote.Lines, l => l.Contains("ended early", StringComparison.Ordinal));
            // The local client's connection is reset, not ended as if the service had finished.
            await ExitStatusTests.AssertResetAsync(client);
            ClientProgram.AssertReadable(local);
            ClientProgram.AssertReadable(remote);
        }
    }

    private static async Task<(ChildProcess Remote, ChildProcess Local, int Port)> StartPairAsync(ServerHost server, EchoService echo)
    {
        string[] at = ClientProgram.Server(server.EndPoint().Port);
        var remote = ClientProgram.Start([.. at, "-R", $"127.0.0.1:{echo.Port}", Code]);
        var local = ClientProgram.Start([.. at, "-L", "0", Code]);
        int port = ExitStatusTests.ListeningPort(await local.WaitForLineAsync("listening on 127.0.0.1:", Wait));
        await local.WaitForLineAsync("authenticated", Wait);
        await remote.WaitForLineAsync("authenticated", Wait);
        return (remote, local, port);
    }

    private static async Task<Socket> ConnectAsync(int port)
    {
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port));
        return client;
    }
}
