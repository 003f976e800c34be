using System.Collections.Concurrent;
using Punchhole.Protocol;
using System.Net.Sockets;
using Punchhole.Tests.Support;
using Xunit.Abstractions;

namespace Punchhole.Tests.Robustness;

/// <summary>
/// Fair shares with the defaults: one source (127.0.0.1) sends 50,000 random keys and holds every
/// connection the server lets it keep, while honest pairs from 127.0.0.2–127.0.0.9 run. The server
/// keeps the flooder to its share (3,125 of the default 50,000), so the flood costs the server
/// about 3,125 descriptors, and every honest pair completes.
///
/// The flooder runs in the test process, which may hold 20,000 descriptors: it keeps the
/// connections the server holds (the share) and closes each one the server refuses, at most 256
/// unanswered at once, so it never needs more than the share plus 256 plus the honest clients.
/// </summary>
[Collection(HeavyCollection.Name)]
public class FairShareTests(ITestOutputHelper output)
{
    private const int Keys = 50_000;

    /// <summary>The default share: 1/16 of the default --max-waiting of 50,000.</summary>
    private const int Share = 3_125;

    private static bool ClosedByServer(Socket socket)
    {
        try
        {
            // Readable with nothing to read: EOF (or a reset).
            return socket.Poll(0, SelectMode.SelectRead) && socket.Available == 0;
        }
        catch (SocketException)
        {
            return true;
        }
    }

    [Fact(Timeout = 300_000)]
    public async Task One_source_flooding_50000_random_keys_holds_only_its_share_and_honest_pairs_all_complete()
    {
        OpenFileLimit.RaiseToHardLimit();
        // A long wait timeout: the flooder's clients stay in the table for the whole test.
        using var server = ServerProcess.Start(Scale.ServerExecutable,
            "--port", "0", "--bind", "127.0.0.1", "--stats-interval", "0", "--timeout", "240");
        var endPoint = await server.WaitUntilListeningAsync();
        Assert.Contains(server.Lines, l => l.Contains($"max waiting per source {Share},", StringComparison.Ordinal));

        var held = new ConcurrentBag<Socket>();
        int refused = 0, failed = 0;
        using var gate = new SemaphoreSlim(256);
        var flood = ManyClients.RunAsync(Keys, async i =>
        {
            await gate.WaitAsync();
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                await socket.ConnectAsync(endPoint, timeout.Token);
                await socket.SendAsync(RendezvousClient.NewKey(), SocketFlags.None, timeout.Token);
                // Refused clients are closed at once; one the server keeps stays silent.
                using var silence = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
                try
                {
                    int n = await socket.ReceiveAsync(new byte[64], SocketFlags.None, silence.Token);
                    Assert.Equal(0, n);
                    Interlocked.Increment(ref refused);
                    socket.Dispose();
                }
                catch (OperationCanceledException)
                {
                    held.Add(socket);
                }
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException)
            {
                Interlocked.Increment(ref failed);
                socket.Dispose();
            }
            finally
            {
                gate.Release();
            }
        });
        try
        {
            // Honest pairs from eight other sources while the flood runs, and after it holds its share.
            Assert.True(await Pairing.EventuallyAsync(async () => (await server.StatsAsync())["waiting"] >= Share / 2, TimeSpan.FromSeconds(60)),
                "the flood never filled half of its share");
            var during = await Pairing.PairManyAsync(endPoint, pairs: 400, concurrency: 16, firstSource: 2, sources: 8);
            await flood;
            var after = await Pairing.PairManyAsync(endPoint, pairs: 400, concurrency: 16, firstSource: 2, sources: 8);

            var stats = await server.StatsAsync();
            // A refusal slower than the flooder's patience (a loaded machine) shows as EOF by now.
            int late = 0;
            Assert.True(await Pairing.EventuallyAsync(() => Task.FromResult((late = held.Count(ClosedByServer)) + refused == stats["rejected_per_source"]),
                TimeSpan.FromSeconds(10)), $"the flooder saw {refused} + {late} refusals, the server counted {stats["rejected_per_source"]}");
            int holding = held.Count - late;
            output.WriteLine($"flood: held={holding} refused={refused}+{late} failed={failed}; {string.Join(' ', stats.Select(s => $"{s.Key}={s.Value}"))}");
            Assert.Empty(during);
            Assert.Empty(after);
            Assert.Equal(0, failed);
            Assert.Equal(Keys, held.Count + refused);
            // The flooder holds its share and not one more; every other key was refused as over it.
            Assert.Equal(Share, holding);
            Assert.Equal(Share, stats["waiting"]);
            Assert.Equal(800, stats["paired"]);
            Assert.Equal(0, stats["rejected_waiting"] + stats["rejected_connections"]);
        }
        finally
        {
            await flood.ContinueWith(_ => { }, TaskScheduler.Default);
            foreach (var socket in held)
            {
                socket.Dispose();
            }
        }
    }
}
