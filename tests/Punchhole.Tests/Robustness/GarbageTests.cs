using Punchhole.Server;
using Punchhole.Tests.Support;
using Xunit.Abstractions;

namespace Punchhole.Tests.Robustness;

/// <summary>Random bytes from clients: short ones get no reply, bytes past the 32nd are ignored, nothing crashes.</summary>
public class GarbageTests(ITestOutputHelper output)
{
    [Fact(Timeout = 60_000)]
    public async Task Random_lengths_of_random_bytes_then_FIN_get_no_reply_under_32_and_pair_on_their_first_32_bytes()
    {
        int seed = Environment.TickCount;
        output.WriteLine($"seed {seed}");
        var random = new Random(seed);
        var inputs = Enumerable.Range(0, 400).Select(_ =>
        {
            var bytes = new byte[random.Next(0, 65)];
            random.NextBytes(bytes);
            return bytes;
        }).ToArray();
        int shortOnes = inputs.Count(b => b.Length < 32), longOnes = inputs.Length - shortOnes;

        using var host = new ServerHost(new ServerOptions { WaitTimeout = TimeSpan.FromSeconds(20) });
        using var gate = new SemaphoreSlim(32);
        await Task.WhenAll(inputs.Select(async bytes =>
        {
            await gate.WaitAsync();
            try
            {
                using var client = await host.ConnectAsync();
                await client.SendKeyAsync(bytes);
                if (bytes.Length < 32)
                {
                    Assert.Equal("", await client.ReadToEndAsync());
                    return;
                }
                // Whatever followed the 32nd byte is ignored: a partner that sends just those 32 pairs with it.
                using var partner = await host.ConnectAsync();
                await partner.SendKeyAsync(bytes[..32]);
                Assert.Equal(Pairing.Observed(client), await partner.ReadToEndAsync());
                Assert.Equal(Pairing.Observed(partner), await client.ReadToEndAsync());
            }
            finally
            {
                gate.Release();
            }
        }));

        Assert.True(await ServerHost.EventuallyAsync(() => host.Counters.Active == 0), $"{host.Counters.Active} connections left open");
        Assert.Equal(shortOnes, host.Counters.BadKeys);
        Assert.Equal(longOnes, host.Counters.Pairs);
        Assert.Equal(0, host.Server.Table.Count);
        await Pairing.PairAsync(host.EndPoint());
    }

    [Fact(Timeout = 60_000)]
    public async Task Random_bytes_then_a_reset_at_any_moment_leave_nothing_behind()
    {
        var random = new Random(Environment.TickCount);
        using var host = new ServerHost(new ServerOptions { WaitTimeout = TimeSpan.FromSeconds(20) });
        using var gate = new SemaphoreSlim(32);
        await Task.WhenAll(Enumerable.Range(0, 400).Select(async i =>
        {
            var bytes = new byte[random.Next(0, 65)];
            random.NextBytes(bytes);
            int pause = random.Next(0, 3);
            await gate.WaitAsync();
            try
            {
                var client = await host.ConnectAsync();
                if (bytes.Length > 0)
                {
                    await client.SendAsync(bytes);
                }
                if (pause > 0)
                {
                    await Task.Delay(pause * 10);
                }
                client.Abort();
            }
            finally
            {
                gate.Release();
            }
        }));

        // Resets before the accept, during the key, and while waiting all end their connection.
        Assert.True(await ServerHost.EventuallyAsync(() => host.Counters.Active == 0 && host.Server.Table.Count == 0, TimeSpan.FromSeconds(15)),
            $"active={host.Counters.Active} waiting={host.Server.Table.Count}");
        await Pairing.PairAsync(host.EndPoint());
    }

    [Fact(Timeout = 30_000)]
    public async Task A_client_that_sends_a_key_with_trailing_bytes_still_reads_its_whole_reply()
    {
        // The server never reads the trailing bytes, so its close may be a reset: the reply must be in first.
        using var host = new ServerHost();
        var key = RendezvousClient.NewKey();
        using var a = await host.ConnectAsync();
        await a.SendKeyAsync([.. key, .. new byte[1000]]);
        Assert.True(await ServerHost.EventuallyAsync(() => host.Server.Table.Count == 1));
        using var b = await host.ConnectAsync();
        await b.SendKeyAsync(key);
        Assert.Equal(Pairing.Observed(b), await a.ReadToEndAsync());
        Assert.Equal(Pairing.Observed(a), await b.ReadToEndAsync());
    }
}
