using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Punchhole.Tests.Support;

namespace Punchhole.Tests.Metrics;

/// <summary>
/// tstun --metrics: scraped over real HTTP while pairs run, checked by promtool, and equal to the
/// stats line once the load is over; the endpoint answers only GET /metrics and cannot be used to
/// take descriptors from the pairing path.
/// </summary>
[Collection(HeavyCollection.Name)]
public partial class MetricsEndpointTests
{
    /// <summary>Stats line values that move by themselves (the runtime's), so not compared.</summary>
    private static readonly HashSet<string> s_moving = ["heap_kb", "committed_kb", "gcs", "alloc_bytes"];

    private static async Task<(ServerProcess Server, IPEndPoint Pairing, Uri Metrics)> StartAsync(params string[] options)
    {
        var server = ServerProcess.Start(Scale.ServerExecutable,
            ["--port", "0", "--bind", "127.0.0.1", "--stats-interval", "0", "--metrics", "127.0.0.1:0", .. options]);
        var pairing = await server.WaitUntilListeningAsync();
        string line = await server.WaitForLineAsync("metrics at ");
        var match = MetricsUrl().Match(line);
        Assert.True(match.Success, line);
        return (server, pairing, new Uri(match.Value));
    }

    private static async Task<string> ScrapeAsync(Uri metrics)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(20) };
        using var response = await http.GetAsync(metrics);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain; version=0.0.4; charset=utf-8", response.Content.Headers.ContentType?.ToString());
        return await response.Content.ReadAsStringAsync();
    }

    /// <summary>Every sample line as name (with labels) to value.</summary>
    private static Dictionary<string, double> Samples(string exposition) =>
        exposition.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Where(l => !l.StartsWith('#'))
            .Select(l => l.Split(' '))
            .ToDictionary(p => p[0], p => double.Parse(p[1], CultureInfo.InvariantCulture));

    private static string MetricName(string stat, bool gauge) => stat switch
    {
        "heap_kb" => "tstun_heap_bytes",
        "committed_kb" => "tstun_committed_bytes",
        _ => gauge ? $"tstun_{stat}" : $"tstun_{stat}_total",
    };

    [Fact(Timeout = 180_000)]
    public async Task Scrapes_during_load_pass_promtool_and_match_the_stats_line_after_it()
    {
        var (server, endPoint, metrics) = await StartAsync();
        using var owned = server;
        int batch = Scale.Pick(2_000, 20_000);
        int scrapes = 0;
        // Batches of pairings go on until two scrapes were taken during the load (a fast machine
        // finishes one batch before the first scrape and promtool are done).
        var load = Task.Run(async () =>
        {
            var failures = new List<string>();
            int pairs = 0;
            do
            {
                failures.AddRange(await Pairing.PairManyAsync(endPoint, batch, concurrency: 64, firstSource: 2, sources: 8));
                pairs += batch;
            }
            while (Volatile.Read(ref scrapes) < 2 && failures.Count == 0);
            return (failures, pairs);
        });
        var seen = new List<double>();
        while (!load.IsCompleted)
        {
            string during = await ScrapeAsync(metrics);
            await Promtool.AssertValidAsync(during);
            seen.Add(Samples(during)["tstun_paired_total"]);
            Interlocked.Increment(ref scrapes);
            await Task.Delay(50);
        }
        var (failed, pairs) = await load;
        Assert.Empty(failed);
        Assert.True(seen.Count >= 2, $"only {seen.Count} scrapes during the load");
        Assert.Equal(seen.Order(), seen);

        // At rest: one more scrape, and the stats line, agree on every value that stands still.
        Assert.True(await Pairing.EventuallyAsync(async () => (await server.StatsAsync())["active"] == 0, TimeSpan.FromSeconds(20)));
        string after = await ScrapeAsync(metrics);
        await Promtool.AssertValidAsync(after);
        var samples = Samples(after);
        var stats = await server.StatsAsync();
        Assert.Equal(pairs, stats["paired"]);
        string[] gauges = ["active", "waiting", "relay_active", "relay_pipe_pages", "heap_kb", "committed_kb"];
        foreach (var (name, value) in stats)
        {
            string metric = MetricName(name, gauges.Contains(name));
            Assert.True(samples.ContainsKey(metric), $"{name} of the stats line has no metric {metric}");
            if (!s_moving.Contains(name))
            {
                Assert.True(samples[metric] == value, $"{metric} is {samples[metric]}, the stats line says {name}={value}");
            }
        }
        // Both clients of every pair waited, and every one of them read a key.
        Assert.Equal(2 * pairs, samples["tstun_pair_wait_seconds_count"]);
        Assert.Equal(2 * pairs, samples["tstun_pair_wait_seconds_bucket{le=\"+Inf\"}"]);
        Assert.Equal(2 * pairs, samples["tstun_key_read_seconds_count"]);
        Assert.True(samples["tstun_pair_wait_seconds_sum"] > 0);
    }

    [Fact(Timeout = 120_000)]
    public async Task The_endpoint_answers_only_GET_metrics_and_idle_connections_to_it_take_no_more_than_its_workers()
    {
        var (server, endPoint, metrics) = await StartAsync();
        using var owned = server;
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(20) };
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync(new Uri(metrics, "/"))).StatusCode);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, (await http.PostAsync(metrics, new StringContent(""))).StatusCode);

        // Many connections that never send a request: the server holds a few descriptors for
        // them at most (one per worker), and pairing goes on meanwhile.
        int before = ProcessStats.OpenDescriptors(server.Id);
        var idle = new List<Socket>();
        try
        {
            for (int i = 0; i < 200; i++)
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                idle.Add(socket);
                _ = socket.ConnectAsync(metrics.Host, metrics.Port);
            }
            await Task.Delay(1000);
            int during = ProcessStats.OpenDescriptors(server.Id);
            Assert.True(during - before <= 4, $"{during - before} more descriptors with idle metrics connections");
            Assert.Empty(await Pairing.PairManyAsync(endPoint, 20, concurrency: 4, firstSource: 2, sources: 8));
        }
        finally
        {
            idle.ForEach(s => s.Dispose());
        }
        // Once they are gone, a scrape is served again.
        Assert.Contains("tstun_paired_total 20\n", await ScrapeAsync(metrics), StringComparison.Ordinal);
    }

    [GeneratedRegex(@"http://\S+/metrics")]
    private static partial Regex MetricsUrl();
}
