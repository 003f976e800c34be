using System.Collections.Concurrent;
using System.Net;

namespace Punchhole.Tests.Support;

/// <summary>Honest clients for the heavy tests: pairings checked end to end, with source addresses spread over 127.0.0.x.</summary>
internal static class Pairing
{
    /// <summary>What the server should tell a client's partner: the client's own address as the server sees it.</summary>
    public static string Observed(RendezvousClient client)
    {
        var local = client.LocalEndPoint;
        var address = local.Address.IsIPv4MappedToIPv6 ? local.Address.MapToIPv4() : local.Address;
        return $"{address} {local.Port}";
    }

    /// <summary>The i-th of <paramref name="count"/> loopback sources starting at 127.0.0.<paramref name="first"/>.</summary>
    public static IPAddress Source(int first, int count, int i) => new([127, 0, 0, (byte)(first + i % count)]);

    /// <summary>One pairing with a fresh key; throws unless each client gets exactly the other's address.</summary>
    public static async Task PairAsync(IPEndPoint server, IPAddress? sourceA = null, IPAddress? sourceB = null)
    {
        var key = RendezvousClient.NewKey();
        using var a = await RendezvousClient.ConnectAsync(server, sourceA);
        using var b = await RendezvousClient.ConnectAsync(server, sourceB);
        await Task.WhenAll(a.SendKeyAsync(key), b.SendKeyAsync(key));
        var replies = await Task.WhenAll(a.ReadToEndAsync(TimeSpan.FromSeconds(20)), b.ReadToEndAsync(TimeSpan.FromSeconds(20)));
        if (replies[0] != Observed(b) || replies[1] != Observed(a))
        {
            throw new InvalidOperationException($"wrong replies '{replies[0]}' / '{replies[1]}' for {Observed(a)} / {Observed(b)}");
        }
    }

    /// <summary>Runs <paramref name="pairs"/> pairings, <paramref name="concurrency"/> at a time; returns the failures (empty when all paired).</summary>
    public static async Task<IReadOnlyCollection<string>> PairManyAsync(IPEndPoint server, int pairs, int concurrency, int firstSource, int sources)
    {
        var errors = new ConcurrentBag<string>();
        using var gate = new SemaphoreSlim(concurrency);
        await ManyClients.RunAsync(pairs, async i =>
        {
            await gate.WaitAsync();
            try
            {
                await PairAsync(server, Source(firstSource, sources, 2 * i), Source(firstSource, sources, 2 * i + 1));
            }
            catch (Exception e)
            {
                errors.Add($"{e.GetType().Name}: {e.Message}");
            }
            finally
            {
                gate.Release();
            }
        });
        return errors;
    }

    /// <summary>Polls an asynchronous condition until it holds or the wait runs out.</summary>
    public static async Task<bool> EventuallyAsync(Func<Task<bool>> condition, TimeSpan wait, TimeSpan? every = null)
    {
        var deadline = DateTime.UtcNow + wait;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                return false;
            }
            await Task.Delay(every ?? TimeSpan.FromMilliseconds(200));
        }
        return true;
    }
}
