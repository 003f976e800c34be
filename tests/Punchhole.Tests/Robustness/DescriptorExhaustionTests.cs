using Punchhole.Protocol;
using Punchhole.Tests.Support;
using Xunit.Abstractions;

namespace Punchhole.Tests.Robustness;

/// <summary>
/// More idle connections than the server has descriptors (EMFILE at accept): it must back off
/// instead of spinning on a listener that stays readable, keep the clients it has, survive, and
/// serve again once descriptors come free. The idle connections come from punchhole-hold processes
/// (each holds at most 9,800, below one process's 20,000 descriptors). tstun sizes its connection
/// cap from its open-file limit at start, so the shortage is made from outside, as ENFILE or an
/// operator's prlimit would: the test lowers the running server's limit below what it has planned for.
/// </summary>
[Collection(HeavyCollection.Name)]
public class DescriptorExhaustionTests(ITestOutputHelper output)
{
    private static readonly TimeSpan s_hold = TimeSpan.FromSeconds(8);

    [Fact(Timeout = 300_000)]
    public async Task Out_of_descriptors_the_server_backs_off_keeps_its_clients_and_serves_again_afterwards()
    {
        OpenFileLimit.RaiseToHardLimit();
        int idle = Scale.Pick(1_500, 19_600), holders = Scale.Pick(1, 2), serverFiles = Scale.Pick(1_024, 16_384);
        // PUNCHHOLE_EMFILE_NOFILE=0 keeps the server's own limit (20,000 here): the same run without a shortage.
        if (Environment.GetEnvironmentVariable("PUNCHHOLE_EMFILE_NOFILE") is { Length: > 0 } nofile)
        {
            serverFiles = int.Parse(nofile, System.Globalization.CultureInfo.InvariantCulture);
        }
        bool shortage = serverFiles > 0;
        const int Waiting = 20, Midway = 10, PairsAfter = 2_000;
        // Summaries every second: a signal needs a new thread, which CoreCLR (the JIT build) cannot start without a descriptor.
        using var server = ServerProcess.Start(Scale.ServerExecutable, "--port", "0", "--bind", "127.0.0.1",
            "--defer-accept", "0", "--key-timeout", "120", "--timeout", "120", "--stats-interval", "1");
        var endPoint = await server.WaitUntilListeningAsync();
        if (shortage)
        {
            server.SetFileLimit(serverFiles);
        }

        // Clients already waiting for a partner when the flood comes: they must still be served.
        var keys = Enumerable.Range(0, Waiting).Select(_ => RendezvousClient.NewKey()).ToArray();
        var firsts = new List<RendezvousClient>();
        foreach (var key in keys)
        {
            var first = await RendezvousClient.ConnectAsync(endPoint);
            firsts.Add(first);
            await first.SendKeyAsync(key);
        }

        // Pairs connected and 31 bytes into their keys: they finish during the shortage and must pair then.
        var midway = new List<(RendezvousClient A, RendezvousClient B, byte[] Key)>();
        for (int i = 0; i < Midway; i++)
        {
            var key = RendezvousClient.NewKey();
            var a = await RendezvousClient.ConnectAsync(endPoint);
            var b = await RendezvousClient.ConnectAsync(endPoint);
            await a.SendAsync(key.AsMemory(0, 31));
            await b.SendAsync(key.AsMemory(0, 31));
            midway.Add((a, b, key));
        }

        var hold = new List<HoldProcess>();
        try
        {
            for (int h = 0; h < holders; h++)
            {
                hold.Add(HoldProcess.Start(endPoint, idle / holders, firstSource: 100 + 50 * h, sources: 50));
            }
            int connected = 0;
            foreach (var holder in hold)
            {
                connected += await holder.WaitConnectedAsync(TimeSpan.FromSeconds(120));
            }
            Assert.Equal(idle, connected);

            // The server has taken what it could and paused its accepts (or, with no shortage, taken them all).
            Dictionary<string, long> before = [];
            Assert.True(await Pairing.EventuallyAsync(async () =>
                {
                    before = await server.StatsAsync(signal: false);
                    return shortage ? before["accept_pauses"] > 0 : before["active"] == idle + Waiting + 2 * Midway;
                }, TimeSpan.FromSeconds(60)),
                $"no accept pause: {string.Join(' ', before)}");
            double cpuBefore = ProcessStats.CpuSeconds(server.Id);
            await Task.Delay(s_hold);
            double cpu = ProcessStats.CpuSeconds(server.Id) - cpuBefore;
            var during = await server.StatsAsync(signal: false);
            int descriptors = ProcessStats.OpenDescriptors(server.Id);
            var logLines = server.Lines.Where(l => !l.Contains(" stats ", StringComparison.Ordinal)).ToArray();

            output.WriteLine($"server={Path.GetFileName(Scale.ServerExecutable)} idle={idle} holders={holders} "
                + $"server_nofile={(shortage ? serverFiles.ToString(System.Globalization.CultureInfo.InvariantCulture) : "its own")}");
            output.WriteLine($"server CPU in {s_hold.TotalSeconds:0} s {(shortage ? "at EMFILE" : "holding them")}: {cpu:0.00} s (bar < 3 s); open descriptors {descriptors}; "
                + $"log lines other than stats: {logLines.Length}");
            output.WriteLine("during: " + string.Join(' ', during.Select(kv => $"{kv.Key}={kv.Value}")));

            Assert.True(cpu < 3.0, $"the server used {cpu:0.00} s of CPU in {s_hold.TotalSeconds} s out of descriptors: a busy loop");
            Assert.Null(await server.WaitForExitAsync(TimeSpan.Zero));
            Assert.Equal(Waiting, during["waiting"]);
            if (shortage)
            {
                // Everything it accepted is still open; the rest waits in the kernel's accept queue.
                Assert.True(during["accept_pauses"] > 0);
                Assert.InRange(during["active"], serverFiles / 2, idle + Waiting + 2 * Midway - 1);
            }
            else
            {
                Assert.Equal(idle + Waiting + 2 * Midway, during["active"]);
            }
            Assert.True(logLines.Length <= 5, "log flood:\n" + string.Join('\n', logLines));

            // Existing clients are still served out of descriptors: the midway pairs finish their keys and pair now.
            foreach (var (a, b, key) in midway)
            {
                await a.SendKeyAsync(key[31..]);
                await b.SendKeyAsync(key[31..]);
                Assert.Equal(Pairing.Observed(b), await a.ReadToEndAsync());
                Assert.Equal(Pairing.Observed(a), await b.ReadToEndAsync());
                a.Dispose();
                b.Dispose();
            }
            output.WriteLine($"{Midway} pairs that were mid-key paired during the shortage");

            // The server closed none of the idle connections it had accepted.
            int closedByServer = 0;
            foreach (var holder in hold)
            {
                closedByServer += await holder.ReleaseAsync(TimeSpan.FromSeconds(60));
            }
            Assert.Equal(0, closedByServer);
        }
        finally
        {
            hold.ForEach(h => h.Dispose());
        }

        // Descriptors come free: the backlog is accepted (each closes at EOF) and accepting resumes.
        Dictionary<string, long> after = [];
        Assert.True(await Pairing.EventuallyAsync(async () => (after = await server.StatsAsync())["active"] == Waiting, TimeSpan.FromSeconds(60)),
            $"connections still open after the release: {string.Join(' ', after)}");

        // The clients that waited through it pair now.
        for (int i = 0; i < Waiting; i++)
        {
            using var second = await RendezvousClient.ConnectAsync(endPoint);
            await second.SendKeyAsync(keys[i]);
            Assert.Equal(Pairing.Observed(firsts[i]), await second.ReadToEndAsync());
            Assert.Equal(Pairing.Observed(second), await firsts[i].ReadToEndAsync());
            firsts[i].Dispose();
        }

        var errors = await Pairing.PairManyAsync(endPoint, PairsAfter, concurrency: 64, firstSource: 20, sources: 40);
        var final = await server.StatsAsync();
        output.WriteLine($"afterwards: {PairsAfter - errors.Count}/{PairsAfter} pairings succeeded");
        output.WriteLine("final: " + string.Join(' ', final.Select(kv => $"{kv.Key}={kv.Value}")));
        Assert.True(errors.Count == 0, $"{errors.Count} pairings failed, e.g. {string.Join("; ", errors.Take(3))}");
        Assert.Equal(Waiting + Midway + PairsAfter, final["paired"]);
        Assert.Equal(idle, final["bad_keys"]);
        Assert.Equal(idle + 2 * Waiting + 2 * Midway + 2 * PairsAfter, final["accepted"]);
        Assert.Equal(0, final["active"]);
        Assert.Equal(0, final["rejected_connections"]);
        Assert.Equal(shortage, final["accept_pauses"] > 0);
        ServerProcess.AssertAccountedFor(final);
    }

    [Fact(Timeout = 120_000)]
    public async Task A_connection_cap_above_the_open_file_limit_is_lowered_so_the_server_never_runs_itself_out()
    {
        // Before the fix, --max-connections above the limit let accepts take every descriptor; the
        // JIT build then aborted ("Out of memory.") on the next signal, unable to start its handler thread.
        const int Files = 400, Idle = 600;
        using var server = ServerProcess.StartWithFileLimit(Files, Scale.ServerExecutable, "--port", "0", "--bind", "127.0.0.1",
            "--defer-accept", "0", "--key-timeout", "120", "--max-connections", "100000", "--stats-interval", "0");
        var endPoint = await server.WaitUntilListeningAsync();
        string warning = await server.WaitForLineAsync("--max-connections 100000 is more than");
        output.WriteLine(warning);
        int cap = int.Parse(warning[(warning.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(cap, 1, Files - ServerOptionsReserve - Punchhole.Server.AcceptLoop.SpareCount);

        using var holder = HoldProcess.Start(endPoint, Idle, firstSource: 100, sources: 10);
        Assert.Equal(Idle, await holder.WaitConnectedAsync(TimeSpan.FromSeconds(60)));
        Dictionary<string, long> stats = [];
        Assert.True(await Pairing.EventuallyAsync(async () => (stats = await server.StatsAsync())["rejected_connections"] == Idle - cap, TimeSpan.FromSeconds(20)),
            string.Join(' ', stats));
        Assert.Equal(cap, stats["active"]);
        Assert.Equal(0, stats["accept_pauses"]);
        int open = ProcessStats.OpenDescriptors(server.Id);
        output.WriteLine($"cap {cap}, open descriptors {open} of {Files}");
        Assert.True(open < Files - 8, $"{open} descriptors open: the server came within 8 of its limit");
        await holder.ReleaseAsync(TimeSpan.FromSeconds(30));
        Assert.True(await Pairing.EventuallyAsync(async () => (await server.StatsAsync())["active"] == 0, TimeSpan.FromSeconds(20)));
        await Pairing.PairAsync(endPoint);
        server.Signal(15);
        Assert.Equal(0, await server.WaitForExitAsync(TimeSpan.FromSeconds(5)));
    }

    [Fact(Timeout = 120_000)]
    public async Task Churn_at_the_descriptor_limit_does_not_flood_the_log()
    {
        // Clients arrive steadily while the key timeout frees descriptors every heartbeat: the server
        // runs out, resumes, runs out again, many times a second. It used to log each of those runs.
        const int Files = 300;
        OpenFileLimit.RaiseToHardLimit();
        using var server = ServerProcess.Start(Scale.ServerExecutable, "--port", "0", "--bind", "127.0.0.1",
            "--defer-accept", "0", "--key-timeout", "1", "--stats-interval", "0");
        var endPoint = await server.WaitUntilListeningAsync();
        server.SetFileLimit(Files);

        var clients = new List<RendezvousClient>();
        try
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            while (clock.Elapsed < TimeSpan.FromSeconds(6))
            {
                try
                {
                    clients.AddRange(await Task.WhenAll(Enumerable.Range(0, 40).Select(i =>
                        RendezvousClient.ConnectAsync(endPoint, Pairing.Source(100, 20, clients.Count + i)))));
                }
                catch (System.Net.Sockets.SocketException e)
                {
                    int? exit = await server.WaitForExitAsync(TimeSpan.FromSeconds(1));
                    throw new Xunit.Sdk.XunitException($"connect failed after {clock.Elapsed.TotalSeconds:0.0} s with {clients.Count} clients: "
                        + $"{e.SocketErrorCode}; the server {(exit is { } code ? $"exited with {code}" : "is running")}; it wrote:\n"
                        + string.Join('\n', server.Lines.TakeLast(20)));
                }
                await Task.Delay(100);
            }
        }
        finally
        {
            clients.ForEach(c => c.Dispose());
        }
        Dictionary<string, long> stats = [];
        Assert.True(await Pairing.EventuallyAsync(async () => (stats = await server.StatsAsync())["active"] == 0, TimeSpan.FromSeconds(30)),
            string.Join(' ', stats));
        var pauseLines = server.Lines.Where(l => l.Contains("pausing accepts", StringComparison.Ordinal)).ToArray();
        output.WriteLine($"{clients.Count} clients, accept_pauses={stats["accept_pauses"]}, pause lines logged: {pauseLines.Length}");
        Assert.True(stats["accept_pauses"] >= 5, $"only {stats["accept_pauses"]} pauses: the churn did not happen");
        Assert.True(pauseLines.Length <= 1, "log flood:\n" + string.Join('\n', pauseLines));
        await Pairing.PairAsync(endPoint);
    }

    [SkippableTheory(Timeout = 120_000)]
    [InlineData("jit")]
    [InlineData("static")]
    public async Task Once_out_of_descriptors_the_server_always_leaves_some_free_for_the_rest_of_the_process(string build)
    {
        // A process with no descriptor left cannot start a thread or load code (the JIT runtime
        // opens files for both, and fails when it cannot): accepting must never take the last ones,
        // neither on its way to the first shortage nor after it.
        const int Files = 300, Clients = 320;
        string executable = build == "static" ? RepositoryPaths.RequireArtifact("tstun/tstun") : ServerProcess.BuiltExecutable;
        OpenFileLimit.RaiseToHardLimit();
        // If it dies, the whole exception too: the user's one line does not say where it came from.
        using var server = ServerProcess.StartIn(null, "env", ["PUNCHHOLE_DEBUG_EXCEPTIONS=1", executable, "--port", "0", "--bind", "127.0.0.1",
            "--defer-accept", "0", "--key-timeout", "120", "--stats-interval", "0"]);
        var endPoint = await server.WaitUntilListeningAsync();
        var clients = new List<RendezvousClient>();
        try
        {
            server.SetFileLimit(Files);
            output.WriteLine(await server.WaitForLineAsync($"open-file limit is now {Files}"));

            // More clients than descriptors, one at a time; until accepting pauses, each is one more
            // descriptor, looked at once it is taken. The rest wait in the kernel's queue.
            int open = ProcessStats.OpenDescriptors(server.Id), fewestFree = Files - open;
            bool paused = false;
            for (int i = 0; i < Clients; i++)
            {
                clients.Add(await RendezvousClient.ConnectAsync(endPoint, Pairing.Source(100, 20, i)));
                var waited = System.Diagnostics.Stopwatch.StartNew();
                int now = open;
                while (!paused && (now = ProcessStats.OpenDescriptors(server.Id)) <= open && waited.ElapsedMilliseconds < 1_000)
                {
                    await Task.Delay(1);
                }
                paused |= now <= open;
                open = now;
                fewestFree = Math.Min(fewestFree, Files - open);
            }
            Dictionary<string, long> stats = [];
            long accepted = 0;
            Assert.True(await Pairing.EventuallyAsync(async () =>
            {
                stats = await server.StatsAsync();
                bool settled = stats["accept_pauses"] > 0 && stats["accepted"] == accepted;
                accepted = stats["accepted"];
                return settled;
            }, TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(300)), string.Join(' ', stats));
            long queued = Clients - accepted;
            output.WriteLine($"{accepted} accepted of {Clients}, {queued} queued; fewest descriptors free on the way: {fewestFree} "
                + $"(reserve {Punchhole.Server.AcceptLoop.Reserve}); {string.Join(' ', stats)}");
            Assert.True(fewestFree >= Punchhole.Server.AcceptLoop.Reserve, $"only {fewestFree} descriptors left free");
            Assert.InRange(queued, 1, Clients - 50);

            // Ten more go than are queued: accepting all of the queue would leave just ten free.
            int closing = (int)queued + 10;
            foreach (var client in clients.Take(closing))
            {
                client.Dispose();
            }
            Assert.True(await Pairing.EventuallyAsync(async () => (stats = await server.StatsAsync())["bad_keys"] == closing,
                TimeSpan.FromSeconds(30)), string.Join(' ', stats));
            await Task.Delay(2_500);
            // The fewest free over a second: a look may catch the probe the paused server opens and closes at once.
            int free = Files;
            for (int look = 0; look < 10; look++)
            {
                free = Math.Min(free, Files - ProcessStats.OpenDescriptors(server.Id));
                await Task.Delay(100);
            }
            stats = await server.StatsAsync();
            output.WriteLine($"{closing} closed: {free} descriptors free; {string.Join(' ', stats)}");
            Assert.True(free >= Punchhole.Server.AcceptLoop.Reserve, $"only {free} descriptors left free");
            Assert.Null(await server.WaitForExitAsync(TimeSpan.Zero));
        }
        finally
        {
            clients.ForEach(c => c.Dispose());
            output.WriteLine("tstun wrote:\n" + string.Join('\n', server.Lines));
        }
        Dictionary<string, long> final = [];
        Assert.True(await Pairing.EventuallyAsync(async () => (final = await server.StatsAsync())["active"] == 0, TimeSpan.FromSeconds(30)),
            string.Join(' ', final));
        await Pairing.PairAsync(endPoint);
        final = await server.StatsAsync();
        ServerProcess.AssertAccountedFor(final);
        server.Signal(15);
        Assert.Equal(0, await server.WaitForExitAsync(TimeSpan.FromSeconds(5)));
    }

    [Theory]
    [InlineData(0, -1, 0, int.MaxValue)]          // limit unknown, no cap asked for
    [InlineData(500, -1, 0, 500)]                 // limit unknown: the cap as asked
    [InlineData(0, 20_000, 12, 20_000 - 12 - 80)] // default: what the limit leaves
    [InlineData(100, 20_000, 12, 100)]            // a cap below the limit stands
    [InlineData(1_000_000, 20_000, 12, 20_000 - 12 - 80)] // a cap above it is lowered
    [InlineData(0, 50, 40, 1)]                    // a limit too small for anything: one connection
    public void The_connection_cap_never_exceeds_what_the_open_file_limit_leaves(int asked, long limit, int inUse, int expected) =>
        Assert.Equal(expected, new Punchhole.Server.ServerOptions { MaxConnections = asked }.EffectiveMaxConnections(limit, inUse));

    private const int ServerOptionsReserve = Punchhole.Server.ServerOptions.ReservedDescriptors;
}
