using Punchhole.Tests.Support;

namespace Punchhole.Tests.Client;

/// <summary>
/// Ctrl-C (SIGINT) and SIGTERM: the client resets its connections, so neither the server nor the
/// peer mistakes it for a live waiter or a finished stream, says so in one line and exits 130/143.
/// </summary>
public class InterruptTests
{
    private const int SIGINT = 2;
    private const int SIGTERM = 15;
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    [Fact(Timeout = 60_000)]
    public async Task Ctrl_C_while_waiting_resets_the_registration_and_exits_130()
    {
        using var server = new ServerHost();
        using var client = ClientProgram.Start([.. ClientProgram.Server(server.EndPoint().Port), "interrupted"]);
        await client.WaitForLineAsync("waiting for the peer");
        Assert.True(await ServerHost.EventuallyAsync(() => Interlocked.Read(ref server.Counters.Active) == 1), server.Log);

        client.Signal(SIGINT);
        Assert.Equal(130, await client.WaitForExitAsync(Wait));
        // A reset, not a FIN: the server frees the key at once instead of holding a dead waiter.
        Assert.True(await ServerHost.EventuallyAsync(() => Interlocked.Read(ref server.Counters.Disconnected) == 1, TimeSpan.FromSeconds(5)), server.Log);
        Assert.Single(client.Lines, l => l.Contains("interrupted", StringComparison.Ordinal));
        ClientProgram.AssertReadable(client);
    }

    [Fact(Timeout = 60_000)]
    public async Task SIGTERM_during_a_relay_resets_the_peer_and_exits_143()
    {
        using var run = new ClientWithPlainPeer(["k"]);
        using var connection = await run.AcceptAsync();
        await run.Client.WaitForLineAsync("connected to");

        run.Client.Signal(SIGTERM);
        Assert.Equal(143, await run.Client.WaitForExitAsync(Wait));
        await ExitStatusTests.AssertResetAsync(connection);
        Assert.Single(run.Client.Lines, l => l.Contains("interrupted", StringComparison.Ordinal));
        ClientProgram.AssertReadable(run.Client);
    }
}
