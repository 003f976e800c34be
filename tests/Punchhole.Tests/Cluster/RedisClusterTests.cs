using System.Collections.Concurrent;
using System.Net;
using Punchhole.Tests.Support;

namespace Punchhole.Tests.Cluster;

/// <summary>
/// Several tstun processes sharing one waiting table through a real redis-server (tstun --redis):
/// pairs across instances, races, an instance killed, Redis stopped and started again.
/// </summary>
[Collection(HeavyCollection.Name)]
public sealed class RedisClusterTests
{
    /// <summary>Starts <paramref name="count"/> tstun instances on <paramref name="redis"/>; each listens on loopback.</summary>
    private static async Task<(ServerProcess[] Processes, IPEndPoint[] EndPoints)> StartInstancesAsync(
        RedisServer redis, int count, params string[] extra)
    {
        var processes = new ServerProcess[count];
        var endPoints = new IPEndPoint[count];
        for (int i = 0; i < count; i++)
        {
            processes[i] = ServerProcess.Start(Scale.ServerExecutable,
                ["--port", "0", "--bind", "127.0.0.1", "--stats-interval", "0", "--redis", redis.Configuration, .. extra]);
        }
        for (int i = 0; i < count; i++)
        {
            endPoints[i] = await processes[i].WaitUntilListeningAsync();
            await processes[i].WaitForLineAsync("redis: instance");
        }
        return (processes, endPoints);
    }

    private static void DisposeAll(ServerProcess[] processes)
    {
        foreach (var process in processes)
        {
            process.Dispose();
        }
    }

    /// <summary>Connects to <paramref name="server"/>, sends <paramref name="key"/> and reads the reply (empty when closed without one).</summary>
    private static async Task<(string Reply, string Observed)> RendezvousAsync(IPEndPoint server, byte[] key, TimeSpan wait)
    {
        using var client = await RendezvousClient.ConnectAsync(server);
        await client.SendKeyAsync(key);
        return (await client.ReadToEndAsync(wait), Pairing.Observed(client));
    }

    [SkippableFact(Timeout = 180_000)]
    public async Task Pairs_whose_clients_hit_different_instances_all_complete_with_the_right_addresses()
    {
        using var redis = await RedisServer.StartAsync();
        var (processes, servers) = await StartInstancesAsync(redis, 3);
        try
        {
            int pairs = 5_000;
            var errors = new ConcurrentBag<string>();
            using var gate = new SemaphoreSlim(200);
            var deadline = TimeSpan.FromSeconds(120);
            var run = ManyClients.RunAsync(pairs, async i =>
            {
                await gate.WaitAsync();
                try
                {
                    // Every pair straddles two instances; sources spread over 127.0.0.2-9.
                    await Pairing.PairAsync(servers[i % 3], servers[(i + 1) % 3],
                        Pairing.Source(2, 8, 2 * i), Pairing.Source(2, 8, 2 * i + 1));
                }
                catch (Exception e)
                {
                    errors.Add($"{e.GetType().Name}: {e.Message}");
                }
                finally
                {
                    gate.Release();
                }
            });
            Assert.Same(run, await Task.WhenAny(run, Task.Delay(deadline)));
            Assert.True(errors.IsEmpty, $"{errors.Count} of {pairs} pairs failed, e.g. {errors.FirstOrDefault()}");

            long crossPaired = 0;
            foreach (var process in processes)
            {
                var stats = await process.StatsAsync();
                crossPaired += stats["cross_paired"];
                Assert.Equal(0, stats["redis_errors"]);
                ServerProcess.AssertAccountedFor(stats);
            }
            // Both clients of each pair are counted, each by its own instance.
            Assert.Equal(2 * pairs, crossPaired);
        }
        finally
        {
            DisposeAll(processes);
        }
    }

    [SkippableFact(Timeout = 120_000)]
    public async Task Racing_triples_across_instances_never_let_a_third_client_in()
    {
        using var redis = await RedisServer.StartAsync();
        var (processes, servers) = await StartInstancesAsync(redis, 3, "--timeout", "3");
        try
        {
            const int triples = 200;
            var failures = new ConcurrentBag<string>();
            using var gate = new SemaphoreSlim(50);
            var run = ManyClients.RunAsync(triples, async i =>
            {
                await gate.WaitAsync();
                try
                {
                    var key = RendezvousClient.NewKey();
                    // Three clients with one key, one on each instance, all at once.
                    var results = await Task.WhenAll(Enumerable.Range(0, 3)
                        .Select(j => Task.Run(() => RendezvousAsync(servers[(i + j) % 3], key, TimeSpan.FromSeconds(20)))));
                    var answered = results.Where(r => r.Reply.Length > 0).ToArray();
                    if (answered.Length != 2
                        || answered[0].Reply != answered[1].Observed
                        || answered[1].Reply != answered[0].Observed)
                    {
                        failures.Add(string.Join(" | ", results.Select(r => $"{r.Observed} got '{r.Reply}'")));
                    }
                }
                finally
                {
                    gate.Release();
                }
            });
            Assert.Same(run, await Task.WhenAny(run, Task.Delay(TimeSpan.FromSeconds(90))));
            Assert.True(failures.IsEmpty, $"{failures.Count} of {triples} triples went wrong, e.g. {failures.FirstOrDefault()}");
        }
        finally
        {
            DisposeAll(processes);
        }
    }

    [SkippableFact(Timeout = 120_000)]
    public async Task An_instance_killed_mid_run_leaves_the_others_pairing_and_its_registrations_are_not_handed_out_for_long()
    {
        using var redis = await RedisServer.StartAsync();
        var (processes, servers) = await StartInstancesAsync(redis, 3);
        try
        {
            // Waiters on the instance about to die, registered in Redis.
            const int orphans = 20;
            var allKeys = Enumerable.Range(0, 2 * orphans).Select(_ => RendezvousClient.NewKey()).ToArray();
            var keys = allKeys[..orphans];
            var doomed = new List<RendezvousClient>();
            foreach (var key in allKeys)
            {
                var client = await RendezvousClient.ConnectAsync(servers[2]);
                await client.SendKeyAsync(key);
                doomed.Add(client);
            }
            // A steady stream of pairs between the two others, before, during and after the kill.
            using var stop = new CancellationTokenSource();
            var streamErrors = new ConcurrentBag<string>();
            int streamed = 0;
            var stream = Task.Run(async () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    try
                    {
                        await Pairing.PairAsync(servers[0], servers[1]);
                        Interlocked.Increment(ref streamed);
                    }
                    catch (Exception e)
                    {
                        streamErrors.Add($"{e.GetType().Name}: {e.Message}");
                    }
                }
            });
            await Task.Delay(300);
            processes[2].Signal(9);
            var killed = DateTime.UtcNow;
            Assert.NotNull(await processes[2].WaitForExitAsync(TimeSpan.FromSeconds(10)));
            foreach (var client in doomed)
            {
                client.Dispose();
            }

            // Clients with the dead waiters' keys arrive on instance 0 at once, while the dead
            // instance's heartbeat may still be valid: they must not be left hanging, nor told an
            // address. Their partners arrive on instance 1 a little later: every pair completes.
            var late = Task.WhenAll(keys.Select(key => Task.Run(() => RendezvousAsync(servers[0], key, TimeSpan.FromSeconds(30)))));
            await Task.Delay(500);
            var partners = Task.WhenAll(keys.Select(key => Task.Run(() => RendezvousAsync(servers[1], key, TimeSpan.FromSeconds(30)))));
            var first = await late;
            var second = await partners;
            for (int i = 0; i < orphans; i++)
            {
                Assert.Equal(second[i].Observed, first[i].Reply);
                Assert.Equal(first[i].Observed, second[i].Reply);
            }

            // Once the dead instance's heartbeat has expired, its registrations (still within their
            // TTL) are never handed out: clients with those keys register at once, and pair as soon
            // as their partners arrive, well within the claim timeout an unanswered claim would cost.
            var expired = killed + TimeSpan.FromSeconds(3.5) - DateTime.UtcNow;
            if (expired > TimeSpan.Zero)
            {
                await Task.Delay(expired);
            }
            var laterKeys = allKeys[orphans..];
            var laterFirst = Task.WhenAll(laterKeys.Select(key => Task.Run(() => RendezvousAsync(servers[0], key, TimeSpan.FromSeconds(30)))));
            await Task.Delay(300);
            var started = DateTime.UtcNow;
            var laterSecond = await Task.WhenAll(laterKeys.Select(key => Task.Run(() => RendezvousAsync(servers[1], key, TimeSpan.FromSeconds(30)))));
            var laterFirstReplies = await laterFirst;
            Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(2.5), $"late pairs took {DateTime.UtcNow - started}");
            for (int i = 0; i < orphans; i++)
            {
                Assert.Equal(laterSecond[i].Observed, laterFirstReplies[i].Reply);
                Assert.Equal(laterFirstReplies[i].Observed, laterSecond[i].Reply);
            }

            await stop.CancelAsync();
            await stream;
            Assert.True(streamErrors.IsEmpty, $"{streamErrors.Count} pairs between the live instances failed, e.g. {streamErrors.FirstOrDefault()}");
            Assert.True(streamed > 10, $"only {streamed} pairs between the live instances");
        }
        finally
        {
            DisposeAll(processes);
        }
    }

    [SkippableFact(Timeout = 60_000)]
    public async Task A_remote_waiter_found_dead_is_not_handed_out_and_its_claimer_waits_again()
    {
        using var redis = await RedisServer.StartAsync();
        var (processes, servers) = await StartInstancesAsync(redis, 2);
        try
        {
            // Waiters on instance 1 whose processes went away after their key: only a FIN, which
            // looks like a live half-closed client until a reply is sent and answered with a reset.
            const int count = 10;
            var keys = Enumerable.Range(0, count).Select(_ => RendezvousClient.NewKey()).ToArray();
            foreach (var key in keys)
            {
                using var gone = await RendezvousClient.ConnectAsync(servers[1]);
                await gone.SendKeyAsync(key);
            }
            await Task.Delay(300);

            // Their keys' next clients arrive on instance 0, claim them through Redis, are told
            // "gone", and wait again; partners arriving on instance 1 later pair with them.
            var claimers = Task.WhenAll(keys.Select(key => Task.Run(() => RendezvousAsync(servers[0], key, TimeSpan.FromSeconds(30)))));
            await Task.Delay(1000);
            Assert.False(claimers.IsCompleted, "a claimer was answered (or closed) though its only partner was dead");
            var partners = await Task.WhenAll(keys.Select(key => Task.Run(() => RendezvousAsync(servers[1], key, TimeSpan.FromSeconds(30)))));
            var first = await claimers;
            for (int i = 0; i < count; i++)
            {
                Assert.Equal(partners[i].Observed, first[i].Reply);
                Assert.Equal(first[i].Observed, partners[i].Reply);
            }
            var stats = await processes[1].StatsAsync();
            Assert.Equal(count, stats["dead_waiters"]);
            ServerProcess.AssertAccountedFor(stats);
            ServerProcess.AssertAccountedFor(await processes[0].StatsAsync());
        }
        finally
        {
            DisposeAll(processes);
        }
    }

    [SkippableFact(Timeout = 60_000)]
    public async Task An_instance_started_while_Redis_is_down_pairs_locally_then_joins_the_table()
    {
        using var redis = await RedisServer.StartAsync();
        await redis.StopAsync();
        using var early = ServerProcess.Start(Scale.ServerExecutable,
            "--port", "0", "--bind", "127.0.0.1", "--stats-interval", "0", "--redis", redis.Configuration);
        var first = await early.WaitUntilListeningAsync();
        await early.WaitForLineAsync("redis unreachable");
        await Pairing.PairAsync(first, first);

        await redis.StartAgainAsync();
        await early.WaitForLineAsync("redis reachable again");
        var (processes, servers) = await StartInstancesAsync(redis, 1);
        try
        {
            await Pairing.PairAsync(first, servers[0]);
            await Pairing.PairAsync(servers[0], first);
        }
        finally
        {
            DisposeAll(processes);
        }
    }

    [SkippableFact(Timeout = 120_000)]
    public async Task Redis_stopped_then_started_again_is_survived_without_a_restart()
    {
        using var redis = await RedisServer.StartAsync();
        var (processes, servers) = await StartInstancesAsync(redis, 2);
        try
        {
            await Pairing.PairAsync(servers[0], servers[1]);
            await redis.StopAsync();

            // Each instance notices, says so once, and goes on pairing the clients that meet on it.
            await processes[0].WaitForLineAsync("redis unreachable");
            await Pairing.PairAsync(servers[0], servers[0]);
            await Pairing.PairAsync(servers[1], servers[1]);

            // Two clients with one key on different instances cannot meet meanwhile...
            var key = RendezvousClient.NewKey();
            var waiting = Task.WhenAll(Task.Run(() => RendezvousAsync(servers[0], key, TimeSpan.FromSeconds(40))),
                Task.Run(() => RendezvousAsync(servers[1], key, TimeSpan.FromSeconds(40))));
            await Task.Delay(1000);
            Assert.False(waiting.IsCompleted);

            // ...and meet once Redis is back: every waiting client is offered again.
            await redis.StartAgainAsync();
            var replies = await waiting;
            Assert.Equal(replies[1].Observed, replies[0].Reply);
            Assert.Equal(replies[0].Observed, replies[1].Reply);
            await processes[1].WaitForLineAsync("redis reachable again");
            await Pairing.PairAsync(servers[0], servers[1]);

            foreach (var process in processes)
            {
                var stats = await process.StatsAsync();
                Assert.True(stats["redis_errors"] > 0);
                Assert.Single(process.Lines, line => line.Contains("redis unreachable", StringComparison.Ordinal));
                ServerProcess.AssertAccountedFor(stats);
            }
        }
        finally
        {
            DisposeAll(processes);
        }
    }
}
