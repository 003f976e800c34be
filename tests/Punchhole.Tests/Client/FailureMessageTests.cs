using System.Net;
using System.Net.Sockets;
using Punchhole.Tests.Support;

namespace Punchhole.Tests.Client;

/// <summary>
/// Every failure path we know, driven through the client process: exit code 1 (2 for usage),
/// one readable line that names what failed, never a runtime resource key or a stack trace.
/// The relay's failures (peer reset, stdin error, stdout closed, a service reset) are in
/// <see cref="ExitStatusTests"/>, which checks the same.
/// </summary>
public class FailureMessageTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    private static async Task<ChildProcess> FailsAsync(ChildProcess client, string expected, int exitCode = 1)
    {
        Assert.Equal(exitCode, await client.WaitForExitAsync(Wait));
        ClientProgram.AssertReadable(client);
        Assert.Contains(client.Lines, l => l.Contains(expected, StringComparison.Ordinal));
        return client;
    }

    [Fact(Timeout = 60_000)]
    public async Task A_server_name_that_does_not_resolve()
    {
        using var client = ClientProgram.Start("-4T", "no-such-host.invalid", "k");
        await FailsAsync(client, "cannot resolve the T-STUN server 'no-such-host.invalid'");
    }

    [Fact(Timeout = 60_000)]
    public async Task A_server_name_longer_than_DNS_allows()
    {
        using var client = ClientProgram.Start("-4T", new string('a', 300), "k");
        await FailsAsync(client, "cannot resolve the T-STUN server");
    }

    [Fact(Timeout = 60_000)]
    public async Task A_server_that_refuses_the_connection()
    {
        using var client = ClientProgram.Start([.. ClientProgram.Server(ExitStatusTests.ClosedPort()), "k"]);
        await FailsAsync(client, "connection refused");
    }

    [Fact(Timeout = 60_000)]
    public async Task A_server_that_closes_at_once_without_a_reply()
    {
        using var rendezvous = new FakeRendezvous("");
        using var client = ClientProgram.Start([.. ClientProgram.Server(rendezvous.Port), "--wait-timeout", "3", "k"]);
        await FailsAsync(client, "without a reply");
    }

    [Fact(Timeout = 60_000)]
    public async Task A_peer_that_resets_the_connection()
    {
        using var run = new ClientWithPlainPeer(["k"]);
        using (var connection = await run.AcceptAsync())
        {
            // Once the client has the connection: a reset sooner would end its connect, and it would try again.
            await run.Client.WaitForLineAsync("connected to");
            connection.LingerState = new LingerOption(true, 0);
        }
        // stdin stays open: only the reset can end the client.
        await FailsAsync(run.Client, "the peer reset the connection");
    }

    // A closed descriptor is tried with the published static binary: the JIT host opens files of
    // its own before Main, which may take the closed descriptor's number.

    [SkippableFact(Timeout = 60_000)]
    public async Task Receiving_with_stdout_closed()
    {
        using var rendezvous = new FakeRendezvous(_ => null);
        using var client = ClientProgram.StartPublishedRedirected(">&-", [.. ClientProgram.Server(rendezvous.Port), "-r", "k"]);
        await FailsAsync(client, "stdout is closed");
    }

    [SkippableFact(Timeout = 60_000)]
    public async Task Sending_with_stdin_closed()
    {
        using var rendezvous = new FakeRendezvous(_ => null);
        using var client = ClientProgram.StartPublishedRedirected("<&-", [.. ClientProgram.Server(rendezvous.Port), "-s", "k"]);
        await FailsAsync(client, "stdin is closed");
    }

    [SkippableFact(Timeout = 60_000)]
    public async Task Help_with_stdout_closed()
    {
        using var client = ClientProgram.StartPublishedRedirected(">&-", "-h");
        await FailsAsync(client, "cannot write to stdout: it is closed");
    }

    [SkippableFact(Timeout = 60_000)]
    public async Task A_chat_with_stderr_closed_keeps_its_messages_out_of_the_connections()
    {
        // Were stderr's number taken by the T-STUN connection, the first message would go to the server as the key.
        using var rendezvous = new FakeRendezvous(_ => "");
        using var client = ClientProgram.StartPublishedRedirected("2>&-", [.. ClientProgram.Server(rendezvous.Port), "--plain", "--wait-timeout", "2", "k"]);
        Assert.Equal(1, await client.WaitForExitAsync(Wait));
        var expected = new byte[32];
        Punchhole.Protocol.KeyPhrase.Derive("k").CopyTo(expected);
        Assert.All(rendezvous.Keys, key => Assert.Equal(expected, key));
        Assert.NotEmpty(rendezvous.Keys);
    }

    [Fact(Timeout = 30_000)]
    public async Task Help_ends_with_a_newline()
    {
        using var client = ClientProgram.Start("-h");
        string help = await new StreamReader(client.Output).ReadToEndAsync().WaitAsync(Wait);
        Assert.Equal(0, await client.WaitForExitAsync(Wait));
        Assert.EndsWith("\n", help, StringComparison.Ordinal);
        Assert.False(help.EndsWith("\n\n", StringComparison.Ordinal));
    }

    [Fact(Timeout = 60_000)]
    public async Task A_forwarded_service_that_refuses()
    {
        using var run = new ClientWithPlainPeer(["-R", $"127.0.0.1:{ExitStatusTests.ClosedPort()}", "k"]);
        using var connection = await run.AcceptAsync();
        await ExitStatusTests.AssertResetAsync(connection);
        await FailsAsync(run.Client, "the service at 127.0.0.1:");
    }

    [Fact(Timeout = 60_000)]
    public async Task A_forwarded_service_name_that_does_not_resolve()
    {
        using var rendezvous = new FakeRendezvous(_ => null);
        using var client = ClientProgram.Start([.. ClientProgram.Server(rendezvous.Port), "-R", "no-such-host.invalid:22", "k"]);
        await FailsAsync(client, "no-such-host.invalid");
    }

    [Fact(Timeout = 60_000)]
    public async Task A_listen_port_already_in_use()
    {
        using var holder = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        holder.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        holder.Listen(1);
        int port = ((IPEndPoint)holder.LocalEndPoint!).Port;
        using var rendezvous = new FakeRendezvous(_ => null);
        using var client = ClientProgram.Start([.. ClientProgram.Server(rendezvous.Port), "-L", $"127.0.0.1:{port}", "k"]);
        await FailsAsync(client, "already in use");
    }

    [Fact(Timeout = 30_000)]
    public async Task Bad_usage()
    {
        using var client = ClientProgram.Start("-4T", "h", "--wait-timeout", "soon", "k");
        await FailsAsync(client, "--wait-timeout", exitCode: 2);
    }
}
