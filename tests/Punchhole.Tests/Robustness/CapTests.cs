using System.Diagnostics;
using System.Net;
using Punchhole.Protocol;
using Punchhole.Tests.Support;
using Xunit.Abstractions;

namespace Punchhole.Tests.Robustness;

/// <summary>
/// A flood of clients past each cap, against the tstun process: every one is closed at once with
/// no reply, each is counted in its own counter, the log stays quiet, and the capped resource is
/// usable again as soon as it comes free. (LimitTests has the single-client cases in process.)
/// </summary>
[Collection(HeavyCollection.Name)]
public class CapTests(ITestOutputHelper output)
{
    private const int Flood = 1_000;
    private static readonly TimeSpan s_atOnce = TimeSpan.FromSeconds(1);

    private static ServerProcess StartServer(params string[] options) =>
        ServerProcess.Start(Scale.ServerExecutable, ["--port", "0", "--bind", LocalPorts.UniqueLoopback().ToString(), "--stats-interval", "0", "--key-timeout", "60", .. options]);

    [Fact(Timeout = 120_000)]
    public async Task Past_max_connections_a_flood_is_closed_at_once_counted_and_not_logged()
    {
        OpenFileLimit.RaiseToHardLimit();
        const int Cap = 50;
        using var server = StartServer("--max-connections", "50");
        var endPoint = await server.WaitUntilListeningAsync();
        var holding = await OpenSlowClientsAsync(endPoint, Cap, source: null);
        Assert.True(await Pairing.EventuallyAsync(async () => (await server.StatsAsync())["active"] == Cap, TimeSpan.FromSeconds(10)));

        var slowest = await FloodAsync(endPoint, Flood, source: null, key: null);
        var stats = await server.StatsAsync();
        Report("max-connections", slowest, stats, server);
        Assert.Equal(Flood, stats["rejected_connections"]);
        Assert.Equal(Cap, stats["active"]);
        Assert.Equal(0, stats["rejected_waiting"] + stats["rejected_per_ip"] + stats["bad_keys"]);
        AssertQuietLog(server);

        // Free the slots: clients are served again at once.
        holding.ForEach(c => c.Dispose());
        Assert.True(await Pairing.EventuallyAsync(async () => (await server.StatsAsync())["active"] == 0, TimeSpan.FromSeconds(10)));
        await Pairing.PairAsync(endPoint);
    }

    [Fact(Timeout = 120_000)]
    public async Task Past_max_per_ip_a_flood_from_one_address_is_closed_at_once_and_others_are_served()
    {
        OpenFileLimit.RaiseToHardLimit();
        const int Cap = 5;
        var flooder = IPAddress.Parse("127.0.0.2");
        using var server = StartServer("--max-per-ip", "5");
        var endPoint = await server.WaitUntilListeningAsync();
        var holding = await OpenSlowClientsAsync(endPoint, Cap, flooder);
        Assert.True(await Pairing.EventuallyAsync(async () => (await server.StatsAsync())["active"] == Cap, TimeSpan.FromSeconds(10)));

        var slowest = await FloodAsync(endPoint, Flood, flooder, key: null);
        // Other addresses pair as usual meanwhile.
        await Pairing.PairAsync(endPoint, IPAddress.Parse("127.0.0.3"), IPAddress.Parse("127.0.0.4"));
        var stats = await server.StatsAsync();
        Report("max-per-ip", slowest, stats, server);
        Assert.Equal(Flood, stats["rejected_per_ip"]);
        Assert.Equal(1, stats["paired"]);
        Assert.Equal(0, stats["rejected_waiting"] + stats["rejected_connections"] + stats["bad_keys"]);
        AssertQuietLog(server);

        // One slot comes free (a reset, even): the address gets exactly one connection back.
        holding[0].Abort();
        Assert.True(await Pairing.EventuallyAsync(async () => (await server.StatsAsync())["active"] == Cap - 1, TimeSpan.FromSeconds(5)));
        var key = RendezvousClient.NewKey();
        using var waiter = await RendezvousClient.ConnectAsync(endPoint, flooder);
        await waiter.SendKeyAsync(key);
        Assert.True(await Pairing.EventuallyAsync(async () => (await server.StatsAsync())["waiting"] == 1, TimeSpan.FromSeconds(5)));
        using var partner = await RendezvousClient.ConnectAsync(endPoint, IPAddress.Parse("127.0.0.3"));
        await partner.SendKeyAsync(key);
        Assert.Equal(Pairing.Observed(waiter), await partner.ReadToEndAsync());
        holding.ForEach(c => c.Dispose());
    }

    [Fact(Timeout = 120_000)]
    public async Task Past_max_waiting_a_flood_of_unpaired_keys_is_closed_at_once_and_waiting_clients_still_pair()
    {
        OpenFileLimit.RaiseToHardLimit();
        const int Cap = 20;
        using var server = StartServer("--max-waiting", "20");
        var endPoint = await server.WaitUntilListeningAsync();
        var keys = Enumerable.Range(0, Cap).Select(_ => RendezvousClient.NewKey()).ToArray();
        var waiting = new List<RendezvousClient>();
        foreach (var key in keys)
        {
            var client = await RendezvousClient.ConnectAsync(endPoint);
            waiting.Add(client);
            await client.SendKeyAsync(key);
        }
        Assert.True(await Pairing.EventuallyAsync(async () => (await server.StatsAsync())["waiting"] == Cap, TimeSpan.FromSeconds(10)));

        var slowest = await FloodAsync(endPoint, Flood, source: null, key: () => RendezvousClient.NewKey());
        var stats = await server.StatsAsync();
        Report("max-waiting", slowest, stats, server);
        Assert.Equal(Flood, stats["rejected_waiting"]);
        Assert.Equal(Cap, stats["waiting"]);
        Assert.Equal(0, stats["rejected_connections"] + stats["rejected_per_ip"] + stats["bad_keys"]);
        AssertQuietLog(server);

        // A partner is never turned away by the cap: all 20 pair.
        for (int i = 0; i < Cap; i++)
        {
            using var partner = await RendezvousClient.ConnectAsync(endPoint);
            await partner.SendKeyAsync(keys[i]);
            Assert.Equal(Pairing.Observed(waiting[i]), await partner.ReadToEndAsync());
            Assert.Equal(Pairing.Observed(partner), await waiting[i].ReadToEndAsync());
            waiting[i].Dispose();
        }
        Assert.Equal(Cap, (await server.StatsAsync())["paired"]);
    }

    /// <summary>Clients that hold a connection by sending 1 byte of their key (the key timeout is 60 s).</summary>
    private static async Task<List<RendezvousClient>> OpenSlowClientsAsync(IPEndPoint server, int count, IPAddress? source)
    {
        var clients = new List<RendezvousClient>();
        for (int i = 0; i < count; i++)
        {
            var client = await RendezvousClient.ConnectAsync(server, source);
            clients.Add(client);
            await client.SendAsync(new byte[] { 1 });
        }
        return clients;
    }

    /// <summary>
    /// <paramref name="count"/> clients, 50 at a time, each sending a key and half-closing; each must
    /// be closed with no reply within a second. Returns the slowest close.
    /// </summary>
    private static async Task<TimeSpan> FloodAsync(IPEndPoint server, int count, IPAddress? source, Func<byte[]>? key)
    {
        var fixedKey = RendezvousClient.NewKey();
        using var gate = new SemaphoreSlim(50);
        var times = await ManyClients.RunAsync(count, async i =>
        {
            await gate.WaitAsync();
            try
            {
                using var client = await RendezvousClient.ConnectAsync(server, source ?? Pairing.Source(10, 40, i));
                var clock = Stopwatch.StartNew();
                await client.SendKeyAsync(key?.Invoke() ?? fixedKey);
                Assert.Equal("", await client.ReadToEndAsync(TimeSpan.FromSeconds(5)));
                return clock.Elapsed;
            }
            finally
            {
                gate.Release();
            }
        });
        var slowest = times.Max();
        Assert.True(slowest < s_atOnce, $"a client over the cap waited {slowest.TotalMilliseconds:0} ms to be closed");
        return slowest;
    }

    private void Report(string cap, TimeSpan slowest, Dictionary<string, long> stats, ServerProcess server)
    {
        ServerProcess.AssertAccountedFor(stats);
        output.WriteLine($"{cap}: {Flood} clients over the cap, slowest close {slowest.TotalMilliseconds:0.0} ms, "
            + $"log lines {server.Lines.Length} (of which stats {server.Lines.Count(l => l.Contains(" stats ", StringComparison.Ordinal))})");
        output.WriteLine(string.Join(' ', stats.Select(kv => $"{kv.Key}={kv.Value}")));
    }

    /// <summary>Only the start-up line and the stats lines asked for: nothing per rejected client.</summary>
    private static void AssertQuietLog(ServerProcess server)
    {
        var lines = server.Lines.Where(l => !l.Contains(" stats ", StringComparison.Ordinal)).ToArray();
        Assert.True(lines.Length <= 2, "log lines:\n" + string.Join('\n', lines));
    }
}
