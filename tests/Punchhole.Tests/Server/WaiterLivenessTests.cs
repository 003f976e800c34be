using System.Diagnostics;
using System.Globalization;
using Punchhole.Tests.Support;

namespace Punchhole.Tests.Server;

/// <summary>
/// A waiter whose process died is never handed to an arriving client: the waiter gets its reply
/// first, and the arrival gets its own only once the waiter's TCP has acknowledged it. A killed
/// client's kernel answers the reply with a reset; a waiter that stays silent is given up after
/// the bound (2 s); a slow but live one still pairs.
/// </summary>
public class WaiterLivenessTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    [Fact(Timeout = 30_000)]
    public async Task A_client_killed_while_waiting_is_never_handed_to_the_next_one_with_its_key()
    {
        using var host = new ServerHost();
        var key = RendezvousClient.NewKey();
        var killed = await host.ConnectAsync();
        // The original client: the key, then a FIN.
        await killed.SendKeyAsync(key);
        Assert.True(await ServerHost.EventuallyAsync(() => host.Server.Table.Count == 1));
        // Its process dies: the kernel closes the socket, and as the FIN went out already, nothing more is sent.
        killed.Dispose();

        using var restarted = await host.ConnectAsync();
        await restarted.SendKeyAsync(key);
        if (!await restarted.StaysSilentAsync(TimeSpan.FromMilliseconds(500)))
        {
            Assert.Fail($"the restarted client was handed the killed one: '{await restarted.ReadToEndAsync()}'");
        }
        Assert.True(await ServerHost.EventuallyAsync(() => host.Counters.DeadWaiters == 1 && host.Server.Table.Count == 1));

        using var partner = await host.ConnectAsync();
        await partner.SendKeyAsync(key);
        Assert.Equal(Pairing.Observed(partner), await restarted.ReadToEndAsync());
        Assert.Equal(Pairing.Observed(restarted), await partner.ReadToEndAsync());
        Assert.Equal(1, host.Counters.Pairs);
        Assert.True(await ServerHost.EventuallyAsync(() => host.Counters.Active == 0));
        ServerProcess.AssertAccountedFor(ServerProcess.ParseStats(host.Server.Summary()));
    }

    [SkippableFact(Timeout = 90_000)]
    public async Task A_punchhole_killed_with_SIGKILL_while_waiting_does_not_spoil_the_restart()
    {
        const int SIGKILL = 9;
        string punchhole = RepositoryPaths.RequireArtifact("punchhole/punchhole");
        using var host = new ServerHost();
        string port = host.EndPoint().Port.ToString(CultureInfo.InvariantCulture);
        using (var killed = ChildProcess.Start(punchhole, "-4rT", "127.0.0.1", "-P", port, "restart key"))
        {
            Assert.True(await ServerHost.EventuallyAsync(() => host.Server.Table.Count == 1, Wait), "the first client never waited");
            killed.Signal(SIGKILL);
            Assert.NotNull(await killed.WaitForExitAsync(Wait));
        }

        using var receiver = ChildProcess.Start(punchhole, "-4rT", "127.0.0.1", "-P", port, "restart key");
        // punchhole's sockets linger 0, so its kernel resets the registration when the process
        // dies and the server frees the key at once (disconnected); should the arrival be read
        // before that reset, the liveness check catches the dead waiter instead. Either way the
        // dead one is counted once and never paired.
        Assert.True(await ServerHost.EventuallyAsync(() => host.Counters.Disconnected + host.Counters.DeadWaiters == 1 && host.Server.Table.Count == 1, Wait),
            $"the restarted client was not left waiting (paired={host.Counters.Pairs}, disconnected={host.Counters.Disconnected}, dead_waiters={host.Counters.DeadWaiters}); it wrote:\n{string.Join('\n', receiver.Lines)}");
        Assert.Equal(0, host.Counters.Pairs);
        using var sender = ChildProcess.Start(punchhole, "-4sT", "127.0.0.1", "-P", port, "restart key");
        byte[] data = StreamCheck.RandomBytes(256 * 1024);
        var received = new MemoryStream();
        var reading = receiver.Output.CopyToAsync(received);
        await sender.Input.WriteAsync(data);
        sender.Input.Close();

        Assert.True(await sender.WaitForExitAsync(Wait) == 0, $"the sender failed:\n{string.Join('\n', sender.Lines)}");
        Assert.True(await receiver.WaitForExitAsync(Wait) == 0, $"the receiver failed:\n{string.Join('\n', receiver.Lines)}");
        await reading.WaitAsync(Wait);
        Assert.Equal(StreamCheck.Digest(data), StreamCheck.Digest(received.ToArray()));
        Assert.Equal(1, host.Counters.Pairs);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_waiter_slow_to_acknowledge_still_pairs_and_the_arrival_is_answered_after_its_ACK()
    {
        using var host = new ServerHost();
        var key = RendezvousClient.NewKey();
        using var slow = await host.ConnectAsync();
        slow.DelayAcknowledgements();
        await slow.SendKeyAsync(key);
        Assert.True(await ServerHost.EventuallyAsync(() => host.Server.Table.Count == 1));

        using var arrival = await host.ConnectAsync();
        var clock = Stopwatch.StartNew();
        await arrival.SendKeyAsync(key);
        Assert.Equal(Pairing.Observed(slow), await arrival.ReadToEndAsync());
        var answeredAfter = clock.Elapsed;
        Assert.Equal(Pairing.Observed(arrival), await slow.ReadToEndAsync());
        // The waiter's kernel acknowledges only when its delayed-ACK timer (about 40 ms) fires.
        Assert.True(answeredAfter >= TimeSpan.FromMilliseconds(20),
            $"the arrival was answered after {answeredAfter.TotalMilliseconds:0.#} ms, before the waiter's ACK could be in");
        Assert.Equal(1, host.Counters.Pairs);
        Assert.Equal(0, host.Counters.DeadWaiters);
    }

    [SkippableFact(Timeout = 60_000)]
    public async Task A_waiter_that_never_acknowledges_is_given_up_after_the_bound_and_the_arrival_pairs_with_the_next()
    {
        using var lab = await LostReplies.StartAsync();
        var clock = Stopwatch.StartNew();
        using var arrival = await lab.ArriveAsync();
        Assert.True(await ServerHost.EventuallyAsync(() => lab.Host.Counters.DeadWaiters == 1 && lab.Host.Server.Table.Count == 1, Wait),
            $"the silent waiter was not given up (paired={lab.Host.Counters.Pairs})");
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(1.9), $"given up after {clock.Elapsed.TotalSeconds:0.00} s, before the 2 s bound");
        Assert.True(await arrival.StaysSilentAsync(TimeSpan.FromMilliseconds(100)), "the arrival was told something");

        using var partner = await lab.ArriveAsync();
        Assert.Equal(Pairing.Observed(partner), await arrival.ReadToEndAsync());
        Assert.Equal(Pairing.Observed(arrival), await partner.ReadToEndAsync());
        Assert.Equal(1, lab.Host.Counters.Pairs);
    }

    [SkippableFact(Timeout = 60_000)]
    public async Task A_waiter_whose_reply_is_lost_then_retransmitted_within_the_bound_still_pairs()
    {
        using var lab = await LostReplies.StartAsync();
        using var arrival = await lab.ArriveAsync();
        // The waiter's reply is out and lost: the arrival waits for the acknowledgement.
        Assert.True(await ServerHost.EventuallyAsync(() => lab.Host.Server.Confirmations.Count == 1));
        lab.StopLosing();

        // TCP retransmits the reply (after 0.2 s, then 0.6 s, 1.4 s): one gets through within the bound.
        Assert.Equal(Pairing.Observed(lab.Waiter), await arrival.ReadToEndAsync());
        Assert.Equal(Pairing.Observed(arrival), await lab.Waiter.ReadToEndAsync());
        Assert.Equal(1, lab.Host.Counters.Pairs);
        Assert.Equal(0, lab.Host.Counters.DeadWaiters);
    }

    [SkippableFact(Timeout = 60_000)]
    public async Task Stopping_the_server_ends_an_arrival_waiting_for_an_acknowledgement_at_once()
    {
        using var lab = await LostReplies.StartAsync();
        using var arrival = await lab.ArriveAsync();
        Assert.True(await ServerHost.EventuallyAsync(() => lab.Host.Server.Confirmations.Count == 1));

        var clock = Stopwatch.StartNew();
        lab.Host.Server.Stop();
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"Stop took {clock.Elapsed.TotalSeconds:0.00} s");
        Assert.Equal("", await arrival.ReadToEndAsync(TimeSpan.FromSeconds(1)));
        Assert.Equal(0, lab.Host.Counters.Pairs);
        Assert.Equal(0, lab.Host.Counters.DeadWaiters);
        Assert.True(await ServerHost.EventuallyAsync(() => lab.Host.Counters.Active == 0));
    }

    /// <summary>
    /// A server and clients in a private network namespace (root), and one client waiting there
    /// whose host then drops everything the server sends it (iptables), as if it had fallen off
    /// the net.
    /// </summary>
    private sealed class LostReplies : IDisposable
    {
        private readonly LoopbackNamespace _ns;
        private readonly byte[] _key = RendezvousClient.NewKey();

        private LostReplies(LoopbackNamespace ns)
        {
            _ns = ns;
            Host = ns.Run(() => new ServerHost());
        }

        public ServerHost Host { get; }

        public RendezvousClient Waiter { get; private set; } = null!;

        public static async Task<LostReplies> StartAsync()
        {
            var lab = new LostReplies(LoopbackNamespace.Create());
            try
            {
                lab.Waiter = await lab.ArriveAsync();
                Assert.True(await ServerHost.EventuallyAsync(() => lab.Host.Server.Table.Count == 1));
                lab._ns.Iptables(lab.DropRule("-A"));
                return lab;
            }
            catch
            {
                lab.Dispose();
                throw;
            }
        }

        /// <summary>A new client in the namespace that sends the shared key (and a FIN).</summary>
        public async Task<RendezvousClient> ArriveAsync()
        {
            var client = await RendezvousClient.ConnectAsync(_ns.CreateTcpSocket(), Host.EndPoint());
            await client.SendKeyAsync(_key);
            return client;
        }

        /// <summary>Lets the server's packets reach the waiter again.</summary>
        public void StopLosing()
        {
            _ns.Iptables(DropRule("-D"));
        }

        private string[] DropRule(string action) =>
        [
            action, "INPUT", "-p", "tcp",
            "--sport", Host.EndPoint().Port.ToString(CultureInfo.InvariantCulture),
            "--dport", Waiter.LocalEndPoint.Port.ToString(CultureInfo.InvariantCulture),
            "-j", "DROP",
        ];

        public void Dispose()
        {
            Waiter?.Dispose();
            Host.Dispose();
            // The rule goes with the namespace.
            _ns.Dispose();
        }
    }
}
