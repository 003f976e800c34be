using System.Diagnostics;
using System.Globalization;
using System.Net;
using Punchhole.Protocol;
using Punchhole.Tests.Support;
using Xunit.Abstractions;

namespace Punchhole.Tests.Robustness;

/// <summary>
/// Clients that send 1 byte of their key, then nothing: each is closed with no reply once
/// --key-timeout has passed, while honest pairings go on alongside. The server runs as its own
/// process, so the test process has its descriptors (limit 20,000) for the clients alone.
/// </summary>
[Collection(HeavyCollection.Name)]
public class SlowClientTests(ITestOutputHelper output)
{
    private const int KeyTimeoutSeconds = 2;
    private const int GraceSeconds = 5;

    [Fact(Timeout = 300_000)]
    public async Task Slow_clients_are_closed_without_a_reply_at_the_key_timeout_while_honest_pairings_all_succeed()
    {
        OpenFileLimit.RaiseToHardLimit();
        int slow = Scale.Pick(2_000, 5_000), pairs = Scale.Pick(2_000, 5_000);
        using var server = ServerProcess.Start(Scale.ServerExecutable, "--port", "0", "--bind", "127.0.0.1",
            "--key-timeout", KeyTimeoutSeconds.ToString(CultureInfo.InvariantCulture), "--stats-interval", "0");
        var endPoint = await server.WaitUntilListeningAsync();
        var clock = Stopwatch.StartNew();

        // Slow clients from 127.0.0.10-49, honest ones from 127.0.0.50-89.
        using var connecting = new SemaphoreSlim(256);
        var slowClients = Enumerable.Range(0, slow).Select(i => SlowClientAsync(endPoint, Pairing.Source(10, 40, i), clock, connecting)).ToArray();
        var honest = Pairing.PairManyAsync(endPoint, pairs, concurrency: 64, firstSource: 50, sources: 40);

        var errors = await honest;
        var honestDone = clock.Elapsed;
        var closes = await Task.WhenAll(slowClients);
        var stats = await server.StatsAsync();

        var delays = closes.Where(c => c.Error is null).Select(c => c.Delay.TotalSeconds).Order().ToArray();
        output.WriteLine($"server={Path.GetFileName(Scale.ServerExecutable)} slow={slow} pairs={pairs} key_timeout={KeyTimeoutSeconds}s");
        output.WriteLine($"honest pairings: {pairs - errors.Count}/{pairs} in {honestDone.TotalSeconds:0.00} s");
        if (delays.Length > 0)
        {
            output.WriteLine($"slow clients closed after (s): min={delays[0]:0.000} median={delays[delays.Length / 2]:0.000} "
                + $"p99={delays[(int)(delays.Length * 0.99)]:0.000} max={delays[^1]:0.000}; bar <= {KeyTimeoutSeconds + GraceSeconds}");
        }
        output.WriteLine(string.Join(' ', stats.Select(kv => $"{kv.Key}={kv.Value}")));

        Assert.True(errors.Count == 0, $"{errors.Count} honest pairings failed, e.g. {string.Join("; ", errors.Take(3))}");
        var failed = closes.Where(c => c.Error is not null).ToArray();
        Assert.True(failed.Length == 0, $"{failed.Length} slow clients: {string.Join("; ", failed.Take(3).Select(c => c.Error))}");
        Assert.All(closes, c => Assert.Equal("", c.Reply));
        Assert.InRange(delays[0], KeyTimeoutSeconds - 0.2, KeyTimeoutSeconds + GraceSeconds);
        Assert.InRange(delays[^1], KeyTimeoutSeconds - 0.2, KeyTimeoutSeconds + GraceSeconds);
        Assert.Equal(slow, stats["key_timeouts"]);
        Assert.Equal(pairs, stats["paired"]);
        Assert.Equal(0, stats["bad_keys"] + stats["rejected_connections"] + stats["rejected_waiting"] + stats["rejected_per_ip"]);
        Assert.Equal(0, stats["active"]);
        ServerProcess.AssertAccountedFor(stats);
    }

    private sealed record SlowClose(string Reply, TimeSpan Delay, string? Error);

    /// <summary>Connects, sends 1 byte, then waits for the server to close; the time from the byte to the close.</summary>
    private static async Task<SlowClose> SlowClientAsync(IPEndPoint server, IPAddress source, Stopwatch clock, SemaphoreSlim connecting)
    {
        try
        {
            RendezvousClient client;
            TimeSpan sent;
            await connecting.WaitAsync();
            try
            {
                client = await RendezvousClient.ConnectAsync(server, source);
                await client.SendAsync(new byte[] { 0x5a });
                sent = clock.Elapsed;
            }
            finally
            {
                connecting.Release();
            }
            using (client)
            {
                string reply = await client.ReadToEndAsync(TimeSpan.FromSeconds(KeyTimeoutSeconds + GraceSeconds + 10));
                return new SlowClose(reply, clock.Elapsed - sent, null);
            }
        }
        catch (Exception e)
        {
            return new SlowClose("", TimeSpan.Zero, $"{e.GetType().Name}: {e.Message}");
        }
    }
}
