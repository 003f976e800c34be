using System.Globalization;
using System.Net;

namespace Punchhole.RelayBench;

/// <summary>
/// Opens many relayed sessions and leaves them idle; the server's RSS before and after, per
/// session, and its open descriptors. Kernel memory (socket and pipe structures) is not in RSS:
/// the descriptor count shows what each session holds there.
/// </summary>
internal static class IdleRun
{
    private const int Batch = 32;
    private const int Warmup = 64;

    public static async Task<int> RunAsync(RelayBenchOptions options, TextWriter output)
    {
        int pid = options.ServerPid!.Value;
        var server = new IPEndPoint(options.Target, options.Port);
        using var cancel = new CancellationTokenSource(TimeSpan.FromMinutes(5));

        // Sessions opened and closed first, so that pools and code are warm before the RSS is read.
        foreach (var pair in await OpenAsync(options, server, Warmup, cancel.Token))
        {
            pair.Dispose();
        }
        await Task.Delay(options.SettleMilliseconds);
        long rssBefore = RssKiB(pid);
        int fdsBefore = Descriptors(pid);

        var pairs = await OpenAsync(options, server, options.Sessions, cancel.Token);
        try
        {
            await Task.Delay(options.SettleMilliseconds);
            long rssAfter = RssKiB(pid);
            int fdsAfter = Descriptors(pid);
            double perSession = (rssAfter - rssBefore) * 1024.0 / options.Sessions;
            string busy = "";
            if (options.BusyBytes > 0)
            {
                // One more session carries a bulk transfer while the idle ones are held: it must still
                // get a large pipe (the pipes' page budget is the kernel's, per user).
                var chunk = ThroughputRun.NewChunk();
                var bulk = options with { Bytes = options.BusyBytes };
                var direct = await ThroughputRun.DirectAsync(bulk, chunk);
                var relayed = await ThroughputRun.RelayedAsync(bulk, server, chunk);
                busy = string.Create(CultureInfo.InvariantCulture,
                    $" busy_mib={options.BusyBytes >> 20} busy_direct_mib_s={direct.MibPerSecond:0.0} busy_relayed_mib_s={relayed.MibPerSecond:0.0} busy_ratio={relayed.MibPerSecond / direct.MibPerSecond:0.000}");
            }
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"result mode=idle sessions={options.Sessions} rss_before_kb={rssBefore} rss_after_kb={rssAfter} "
                + $"rss_bytes_per_session={perSession:0} fds_per_session={(fdsAfter - fdsBefore) / (double)options.Sessions:0.00}{busy}"));
        }
        finally
        {
            foreach (var pair in pairs)
            {
                pair.Dispose();
            }
        }
        return 0;
    }

    private static async Task<List<RelayedPair>> OpenAsync(RelayBenchOptions options, IPEndPoint server, int count, CancellationToken cancel)
    {
        var pairs = new List<RelayedPair>(count);
        try
        {
            for (int start = 0; start < count; start += Batch)
            {
                int n = Math.Min(Batch, count - start);
                pairs.AddRange(await Task.WhenAll(Enumerable.Range(start, n).Select(i =>
                    RelayedPair.OpenAsync(server, ThroughputRun.Source(options, 2 * i), ThroughputRun.Source(options, 2 * i + 1), cancel))));
            }
            return pairs;
        }
        catch
        {
            foreach (var pair in pairs)
            {
                pair.Dispose();
            }
            throw;
        }
    }

    private static long RssKiB(int pid)
    {
        foreach (string line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line.AsSpan(6).Trim().TrimEnd("kB").Trim(), CultureInfo.InvariantCulture);
            }
        }
        throw new BenchException($"no VmRSS for process {pid}");
    }

    private static int Descriptors(int pid) => Directory.GetFiles($"/proc/{pid}/fd").Length;
}
