using System.Diagnostics;
using Punchhole.Server;
using Punchhole.Tests.Support;

namespace Punchhole.Tests.Client;

/// <summary>
/// The client waits for its peer as long as --wait-timeout says (10 minutes by default), whatever
/// the server's own limit: when a server ends a wait without a reply, the client registers again
/// from the same local port, so the address the peer is given stays the one it punches from.
/// </summary>
public class WaitWindowTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [Fact(Timeout = 90_000)]
    public async Task A_client_outlives_our_servers_wait_limit_and_meets_a_late_peer()
    {
        using var server = new ServerHost(new ServerOptions { WaitTimeout = TimeSpan.FromSeconds(2) });
        string[] at = ClientProgram.Server(server.EndPoint().Port);
        using var early = ClientProgram.Start([.. at, "--wait-timeout", "60", "late peer"]);
        string asked = await early.WaitForLineAsync("waiting for the peer");
        Assert.True(await ServerHost.EventuallyAsync(() => Interlocked.Read(ref server.Counters.TimedOut) >= 2, Wait), server.Log);

        using var late = ClientProgram.Start([.. at, "late peer"]);
        await ConnectAndEndCleanlyAsync(early, late);

        // The late peer was given the port the early client registered from first.
        int firstPort = new Uri("tcp://" + asked[(asked.IndexOf(" from ", StringComparison.Ordinal) + 6)..].Split(';')[0]).Port;
        Assert.Contains(late.Lines, l => l.Contains($"the peer is 127.0.0.1:{firstPort}", StringComparison.Ordinal));
    }

    [SkippableFact(Timeout = 90_000)]
    public async Task Registering_again_from_the_same_port_works_where_a_TIME_WAIT_could_not_be_reused()
    {
        // Linux lets a connect reuse a 4-tuple that is in TIME_WAIT on loopback, or when TCP
        // timestamps are on; here both are off, as on many hosts (Windows has no timestamps by
        // default). Had our side of the first request ended in TIME_WAIT (it would, had the client
        // half-closed after its key, as the original does), asking again from the same port would fail.
        RepositoryPaths.RequireRoot("a network namespace");
        using var lab = new IsolatedLoopback(("net.ipv4.tcp_tw_reuse", "0"), ("net.ipv4.tcp_timestamps", "0"));
        using var server = ServerProcess.Start("ip", lab.Exec(ServerProcess.BuiltExecutable, "--port", "0", "--bind", "127.0.0.1", "--timeout", "1"));
        var endPoint = await server.WaitUntilListeningAsync();
        string[] at = ClientProgram.Server(endPoint.Port);
        using var early = ChildProcess.Start("ip", lab.Exec(ClientProgram.Executable, [.. at, "--wait-timeout", "60", "tw"]));
        await early.WaitForLineAsync("waiting for the peer");
        Assert.True(await Pairing.EventuallyAsync(async () => (await server.StatsAsync())["timed_out"] >= 2, Wait), string.Join('\n', early.Lines));

        using var late = ChildProcess.Start("ip", lab.Exec(ClientProgram.Executable, [.. at, "tw"]));
        await ConnectAndEndCleanlyAsync(early, late);
    }

    [Fact(Timeout = 90_000)]
    public async Task A_client_registers_again_from_the_same_port_when_a_server_closes_without_a_reply_like_the_original()
    {
        var peer = new PlainPeer();
        using var rendezvous = new FakeRendezvous((index, _) => index < 2 ? "" : peer.Reply, silentClose: TimeSpan.FromSeconds(1.5));
        using var client = ClientProgram.Start([.. ClientProgram.Server(rendezvous.Port), "--plain", "-s", "--wait-timeout", "60", "k"]);
        using (var connection = await peer.AcceptAsync())
        {
            client.Input.Close();
            Assert.Equal(0, (await StreamCheck.ReadToEndAsync(connection, Wait)).Count);
        }
        Assert.Equal(0, await client.WaitForExitAsync(Wait));
        Assert.Equal(3, rendezvous.Clients.Length);
        Assert.Single(rendezvous.Clients.Distinct());
        peer.Dispose();
    }

    [Fact(Timeout = 60_000)]
    public async Task A_client_gives_up_at_its_own_wait_timeout_with_a_clear_line()
    {
        using var server = new ServerHost(new ServerOptions { WaitTimeout = TimeSpan.FromSeconds(1) });
        var clock = Stopwatch.StartNew();
        using var client = ClientProgram.Start([.. ClientProgram.Server(server.EndPoint().Port), "--wait-timeout", "4", "nobody"]);
        Assert.Equal(1, await client.WaitForExitAsync(Wait));
        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(4), TimeSpan.FromSeconds(15));
        Assert.Contains(client.Lines, l => l.Contains("no peer with the same KEY", StringComparison.Ordinal));
        ClientProgram.AssertReadable(client);
    }

    [Fact(Timeout = 60_000)]
    public async Task By_default_the_client_waits_10_minutes_and_says_so()
    {
        using var server = new ServerHost();
        using var client = ClientProgram.Start([.. ClientProgram.Server(server.EndPoint().Port), "patient"]);
        string line = await client.WaitForLineAsync("waiting for the peer");
        Assert.Contains("10 min", line, StringComparison.Ordinal);
        Assert.DoesNotContain("60 s", line, StringComparison.Ordinal);
    }

    /// <summary>Both clients connect, end their stdin and exit 0.</summary>
    private static async Task ConnectAndEndCleanlyAsync(ChildProcess early, ChildProcess late)
    {
        await early.WaitForLineAsync("connected to");
        await late.WaitForLineAsync("connected to");
        early.Input.Close();
        late.Input.Close();
        var codes = (await early.WaitForExitAsync(Wait), await late.WaitForExitAsync(Wait));
        Assert.True(codes == (0, 0), $"exit codes {codes}:\n{string.Join('\n', early.Lines)}\n--\n{string.Join('\n', late.Lines)}");
    }
}
