using System.Text.RegularExpressions;
using Punchhole.Server;
using Punchhole.Tests.Support;

namespace Punchhole.Tests.Robustness;

/// <summary>
/// The operator's counters: each one counts exactly what README says it does. (The caps' counters are
/// checked in CapTests and LimitTests, accept_pauses in DescriptorExhaustionTests.)
/// </summary>
public partial class CounterTests
{
    [Fact(Timeout = 30_000)]
    public async Task Every_flow_counter_counts_exactly_its_events()
    {
        using var host = new ServerHost(new ServerOptions
        {
            WaitTimeout = TimeSpan.FromSeconds(1),
            KeyTimeout = TimeSpan.FromSeconds(1),
        });

        for (int i = 0; i < 3; i++)
        {
            await Pairing.PairAsync(host.EndPoint());
        }
        using var lonely = await host.ConnectAsync();        // waits, then times out
        await lonely.SendKeyAsync(RendezvousClient.NewKey());
        var leaver = await host.ConnectAsync();              // waits, then resets
        await leaver.SendKeyAsync(RendezvousClient.NewKey());
        using var slow = await host.ConnectAsync();          // 1 byte, then silence: key timeout
        await slow.SendAsync(new byte[] { 7 });
        using var shortKey = await host.ConnectAsync();      // 10 bytes then EOF: bad key
        await shortKey.SendKeyAsync(new byte[10]);
        Assert.Equal("", await shortKey.ReadToEndAsync());

        Assert.True(await ServerHost.EventuallyAsync(() => host.Server.Table.Count == 2 && host.Counters.Active == 3));
        var now = Stats(host);
        Assert.Equal(10, now["accepted"]);
        Assert.Equal(3, now["paired"]);
        Assert.Equal(1, now["bad_keys"]);
        Assert.Equal(3, now["active"]);   // lonely, leaver, slow
        Assert.Equal(2, now["waiting"]);  // lonely, leaver
        Assert.Equal(0, now["timed_out"] + now["key_timeouts"] + now["disconnected"]);

        leaver.Abort();
        Assert.True(await ServerHost.EventuallyAsync(() => host.Counters.Disconnected == 1));
        // Each count is in before the client sees its connection end.
        Assert.Equal("", await lonely.ReadToEndAsync());
        Assert.Equal(1, host.Counters.TimedOut);
        Assert.Equal("", await slow.ReadToEndAsync());
        Assert.Equal(1, host.Counters.KeyTimedOut);
        Assert.True(await ServerHost.EventuallyAsync(() => host.Counters.Active == 0));

        var end = Stats(host);
        Assert.Equal(10, end["accepted"]);
        Assert.Equal(3, end["paired"]);
        Assert.Equal(1, end["timed_out"]);
        Assert.Equal(1, end["key_timeouts"]);
        Assert.Equal(1, end["bad_keys"]);
        Assert.Equal(1, end["disconnected"]);
        Assert.Equal(0, end["rejected_waiting"] + end["rejected_connections"] + end["rejected_per_ip"] + end["accept_pauses"]);
        Assert.Equal(0, end["active"]);
        Assert.Equal(0, end["waiting"]);
        ServerProcess.AssertAccountedFor(end);
    }

    [Fact(Timeout = 30_000)]
    public async Task Each_cap_counts_only_its_own_rejections()
    {
        using var host = new ServerHost(new ServerOptions { MaxWaiting = 1, MaxPerIp = 2, MaxConnections = 3 });
        using var waiting = await host.ConnectAsync();
        await waiting.SendKeyAsync(RendezvousClient.NewKey());
        Assert.True(await ServerHost.EventuallyAsync(() => host.Server.Table.Count == 1));
        using (var overWaiting = await host.ConnectAsync())
        {
            await overWaiting.SendKeyAsync(RendezvousClient.NewKey());
            Assert.Equal("", await overWaiting.ReadToEndAsync());
        }
        Assert.True(await ServerHost.EventuallyAsync(() => host.Counters.Active == 1));
        using var second = await host.ConnectAsync();        // 127.0.0.1 holds 2 now
        await second.SendAsync(new byte[] { 1 });
        Assert.True(await ServerHost.EventuallyAsync(() => host.Counters.Active == 2));
        using (var overPerIp = await host.ConnectAsync())
        {
            await overPerIp.SendKeyAsync(RendezvousClient.NewKey());
            Assert.Equal("", await overPerIp.ReadToEndAsync());
        }
        using var third = await RendezvousClient.ConnectAsync(host.EndPoint(), System.Net.IPAddress.Parse("127.0.0.2"));
        await third.SendAsync(new byte[] { 1 });
        Assert.True(await ServerHost.EventuallyAsync(() => host.Counters.Active == 3));
        using (var overConnections = await RendezvousClient.ConnectAsync(host.EndPoint(), System.Net.IPAddress.Parse("127.0.0.3")))
        {
            await overConnections.SendKeyAsync(RendezvousClient.NewKey());
            Assert.Equal("", await overConnections.ReadToEndAsync());
        }

        var stats = Stats(host);
        Assert.Equal(1, stats["rejected_waiting"]);
        Assert.Equal(1, stats["rejected_per_ip"]);
        Assert.Equal(1, stats["rejected_connections"]);
        Assert.Equal(6, stats["accepted"]);
        Assert.Equal(3, stats["active"]);
        ServerProcess.AssertAccountedFor(stats);
    }

    [Fact(Timeout = 30_000)]
    public async Task The_summary_is_logged_at_the_interval_and_on_SIGUSR1_with_every_counter()
    {
        using var server = ServerProcess.Start(Scale.ServerExecutable, "--port", "0", "--bind", LocalPorts.UniqueLoopback().ToString(), "--stats-interval", "1");
        var endPoint = await server.WaitUntilListeningAsync();
        await Pairing.PairAsync(endPoint);
        // Three periodic lines, about a second apart by their own time stamps (the test's clock may lag under load).
        var started = DateTime.UtcNow;
        string[] periodicLines;
        while ((periodicLines = server.Lines.Where(l => l.Contains(" stats ", StringComparison.Ordinal)).ToArray()).Length < 3)
        {
            Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(20), $"{periodicLines.Length} summaries in 20 s at --stats-interval 1");
            await Task.Delay(50);
        }
        var stamps = periodicLines.Take(3).Select(l => DateTime.Parse(l[..l.IndexOf(' ', StringComparison.Ordinal)], System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        Assert.InRange((stamps[1] - stamps[0]).TotalSeconds, 0.5, 3);
        Assert.InRange((stamps[2] - stamps[1]).TotalSeconds, 0.5, 3);
        var periodic = ServerProcess.ParseStats(server.Lines.Last(l => l.Contains(" stats ", StringComparison.Ordinal)));
        var onDemand = await server.StatsAsync();
        foreach (var stats in new[] { periodic, onDemand })
        {
            Assert.Equal(2, stats["accepted"]);
            Assert.Equal(1, stats["paired"]);
            Assert.Equal(0, stats["active"]);
        }
        Assert.Equal(periodic.Keys.Order(), onDemand.Keys.Order());
    }

    [Fact(Timeout = 60_000)]
    public async Task A_signal_sent_as_soon_as_the_server_says_it_listens_is_handled()
    {
        // The handlers used to be installed after the "listening" line: a signal in between took its
        // default action, and SIGUSR1 or SIGTERM killed the server.
        for (int i = 0; i < 5; i++)
        {
            using var server = ServerProcess.Start(Scale.ServerExecutable, "--port", "0", "--bind", LocalPorts.UniqueLoopback().ToString(), "--stats-interval", "0");
            await server.WaitUntilListeningAsync();
            var stats = await server.StatsAsync();
            Assert.Equal(0, stats["accepted"]);
            server.Signal(15);
            Assert.Equal(0, await server.WaitForExitAsync(TimeSpan.FromSeconds(5)));
        }
    }

    [Fact]
    public void README_documents_every_counter_of_the_summary_line()
    {
        using var host = new ServerHost();
        var names = ServerProcess.ParseStats(host.Server.Summary()).Keys;
        string readme = File.ReadAllText(Path.Combine(RepositoryPaths.Root, "README.md"));
        var table = CounterRow().Matches(readme).Select(m => m.Groups[1].Value).ToHashSet();
        var missing = names.Where(n => !table.Contains(n)).ToArray();
        Assert.True(missing.Length == 0, $"README's counter table lacks {string.Join(", ", missing)}");
    }

    private static Dictionary<string, long> Stats(ServerHost host) => ServerProcess.ParseStats(host.Server.Summary());

    // A counter named in a README table row: | `name` | or | `a` / `b` |.
    [GeneratedRegex(@"`([a-z][a-z0-9_]*)`")]
    private static partial Regex CounterRow();
}
