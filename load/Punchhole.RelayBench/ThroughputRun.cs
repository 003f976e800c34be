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
        var chunk = new byte[ChunkSize];
        Random.Shared.NextBytes(chunk);
        var direct = new List<double>();
        var relayed = new List<double>();
        for (int round = 1; round <= options.Rounds; round++)
        {
            double d = await DirectAsync(options, chunk);
            direct.Add(d);
            double r = await RelayedAsync(options, server, chunk);
            relayed.Add(r);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"round {round}: direct {d:0.0} MiB/s, relayed {r:0.0} MiB/s, ratio {r / d:0.000}"));
        }
        double directMedian = Median(direct), relayedMedian = Median(relayed);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"result mode=throughput mib={options.Bytes >> 20} rounds={options.Rounds} direct_mib_s={directMedian:0.0} "
            + $"relayed_mib_s={relayedMedian:0.0} ratio={relayedMedian / directMedian:0.000}"));
        return 0;
    }

    private static async Task<double> DirectAsync(RelayBenchOptions options, byte[] chunk)
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

    private static async Task<double> RelayedAsync(RelayBenchOptions options, IPEndPoint server, byte[] chunk)
    {
        using var setup = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var pair = await RelayedPair.OpenAsync(server, Source(options, 0), Source(options, 1), setup.Token);
        return await TransferAsync(pair.First, pair.Second, options.Bytes, chunk);
    }

    /// <summary>MiB/s from the first byte sent to the receiver's EOF; every byte must arrive.</summary>
    private static async Task<double> TransferAsync(Socket sender, Socket receiver, long bytes, byte[] chunk)
    {
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
        if (received != bytes)
        {
            throw new BenchException($"{received} bytes arrived of {bytes}");
        }
        return bytes / (1024.0 * 1024.0) / seconds;
    }

    public static IPAddress Source(RelayBenchOptions options, int i)
    {
        if (options.Target.AddressFamily == AddressFamily.InterNetworkV6)
        {
            return IPAddress.IPv6Loopback;
        }
        return new IPAddress([127, 0, 0, (byte)(1 + i % options.Sources)]);
    }

    private static double Median(List<double> values)
    {
        values.Sort();
        int middle = values.Count / 2;
        return values.Count % 2 == 1 ? values[middle] : (values[middle - 1] + values[middle]) / 2;
    }
}
