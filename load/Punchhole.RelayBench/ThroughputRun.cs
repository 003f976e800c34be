using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Punchhole.RelayBench;

/// <summary>
/// The same bytes one way through a relayed session and through a direct loopback connection,
/// alternately, so both see the same machine; the medians of each and their ratio.
/// </summary>
internal static class ThroughputRun
{
    private const int ChunkSize = 1 << 20;

    public static async Task<int> RunAsync(RelayBenchOptions options, TextWriter output)
    {
        var server = new IPEndPoint(options.Target, options.Port);
        var chunk = NewChunk();
        var direct = new List<Transfer>();
        var relayed = new List<Transfer>();
        for (int round = 1; round <= options.Rounds; round++)
        {
            var d = await DirectAsync(options, chunk);
            direct.Add(d);
            var r = await RelayedAsync(options, server, chunk);
            relayed.Add(r);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"round {round}: direct {d.MibPerSecond:0.0} MiB/s, relayed {r.MibPerSecond:0.0} MiB/s, ratio {r.MibPerSecond / d.MibPerSecond:0.000}; "
                + $"clients' CPU s per GiB: direct {d.CpuPerGib:0.000}, relayed {r.CpuPerGib:0.000}"));
        }
        double directMedian = Median(direct, t => t.MibPerSecond), relayedMedian = Median(relayed, t => t.MibPerSecond);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"result mode=throughput mib={options.Bytes >> 20} rounds={options.Rounds} direct_mib_s={directMedian:0.0} "
            + $"relayed_mib_s={relayedMedian:0.0} ratio={relayedMedian / directMedian:0.000} "
            + $"direct_client_cpu_s_per_gib={Median(direct, t => t.CpuPerGib):0.000} relayed_client_cpu_s_per_gib={Median(relayed, t => t.CpuPerGib):0.000}"));
        return 0;
    }

    /// <summary>What one transfer took: its rate, and this process's CPU (sender and receiver both) per GiB.</summary>
    internal readonly record struct Transfer(double MibPerSecond, double CpuPerGib);

    internal static byte[] NewChunk()
    {
        var chunk = new byte[ChunkSize];
        Random.Shared.NextBytes(chunk);
        return chunk;
    }

    internal static async Task<Transfer> DirectAsync(RelayBenchOptions options, byte[] chunk)
    {
        using var listener = new Socket(options.Target.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(options.Target, 0));
        listener.Listen(1);
        using var sender = new Socket(options.Target.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        var accepting = listener.AcceptAsync();
        await sender.ConnectAsync(listener.LocalEndPoint!);
        using var receiver = await accepting;
        return await TransferAsync(sender, receiver, options.Bytes, chunk);
    }

    internal static async Task<Transfer> RelayedAsync(RelayBenchOptions options, IPEndPoint server, byte[] chunk)
    {
        using var setup = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var pair = await RelayedPair.OpenAsync(server, Source(options, 0), Source(options, 1), setup.Token);
        return await TransferAsync(pair.First, pair.Second, options.Bytes, chunk);
    }

    /// <summary>MiB/s from the first byte sent to the receiver's EOF; every byte must arrive.</summary>
    private static async Task<Transfer> TransferAsync(Socket sender, Socket receiver, long bytes, byte[] chunk)
    {
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        var receiving = Task.Run(async () =>
        {
            var buffer = new byte[ChunkSize];
            long total = 0;
            int n;
            while ((n = await receiver.ReceiveAsync(buffer, SocketFlags.None)) > 0)
            {
                total += n;
            }
            return total;
        });
        for (long left = bytes; left > 0; left -= ChunkSize)
        {
            await sender.SendAsync(chunk.AsMemory(0, (int)Math.Min(left, ChunkSize)), SocketFlags.None);
        }
        sender.Shutdown(SocketShutdown.Send);
        long received = await receiving;
        double seconds = clock.Elapsed.TotalSeconds;
        double cpuSeconds = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds;
        if (received != bytes)
        {
            throw new BenchException($"{received} bytes arrived of {bytes}");
        }
        double gib = bytes / (1024.0 * 1024.0 * 1024.0);
        return new Transfer(bytes / (1024.0 * 1024.0) / seconds, cpuSeconds / gib);
    }

    public static IPAddress Source(RelayBenchOptions options, int i)
    {
        if (options.Target.AddressFamily == AddressFamily.InterNetworkV6)
        {
            return IPAddress.IPv6Loopback;
        }
        return new IPAddress([127, 0, 0, (byte)(1 + i % options.Sources)]);
    }

    private static double Median(List<Transfer> transfers, Func<Transfer, double> figure)
    {
        var values = transfers.Select(figure).Order().ToList();
        int middle = values.Count / 2;
        return values.Count % 2 == 1 ? values[middle] : (values[middle - 1] + values[middle]) / 2;
    }
}
