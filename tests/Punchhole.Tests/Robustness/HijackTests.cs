using System.Diagnostics;
using System.Net;
using Punchhole.Server;
using Punchhole.Tests.Support;

namespace Punchhole.Tests.Robustness;

/// <summary>
/// No client learns an address meant for another pair, however the arrivals race; and a client that
/// resets gives back what it held (a waiting slot, a connection slot, a per-address slot) at once.
/// (PairingTests has the sequential third-client and reset-while-waiting cases.)
/// </summary>
public class HijackTests
{
    [Fact(Timeout = 60_000)]
    public async Task Three_clients_racing_with_one_key_make_one_pair_and_the_third_learns_nothing()
    {
        const int Triples = 200;
        using var host = new ServerHost(new ServerOptions { WaitTimeout = TimeSpan.FromSeconds(2) });
        var results = await ManyClients.RunAsync(Triples, async _ =>
        {
            var key = RendezvousClient.NewKey();
            var clients = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => host.ConnectAsync()));
            try
            {
                await Task.WhenAll(clients.Select(c => c.SendKeyAsync(key)));
                var replies = await Task.WhenAll(clients.Select(c => c.ReadToEndAsync(TimeSpan.FromSeconds(10))));
                return (Observed: clients.Select(Pairing.Observed).ToArray(), Replies: replies);
            }
            finally
            {
                foreach (var c in clients)
                {
                    c.Dispose();
                }
            }
        });

        foreach (var (observed, replies) in results)
        {
            // Exactly two got a reply, each naming the other; the third got nothing at all.
            var answered = Enumerable.Range(0, 3).Where(i => replies[i] != "").ToArray();
            Assert.Equal(2, answered.Length);
            Assert.Equal(observed[answered[1]], replies[answered[0]]);
            Assert.Equal(observed[answered[0]], replies[answered[1]]);
        }
        Assert.Equal(Triples, host.Counters.Pairs);
        Assert.True(await ServerHost.EventuallyAsync(() => host.Counters.TimedOut == Triples && host.Counters.Active == 0));
    }

    [Fact(Timeout = 20_000)]
    public async Task A_waiting_client_that_resets_gives_its_waiting_slot_back_at_once()
    {
        using var host = new ServerHost(new ServerOptions { MaxWaiting = 1 });
        using var a = await host.ConnectAsync();
        await a.SendKeyAsync(RendezvousClient.NewKey());
        Assert.True(await ServerHost.EventuallyAsync(() => host.Server.Table.Count == 1));
        using (var refused = await host.ConnectAsync())
        {
            await refused.SendKeyAsync(RendezvousClient.NewKey());
            Assert.Equal("", await refused.ReadToEndAsync());
            Assert.Equal(1, host.Counters.RejectedWaiting);
        }

        var clock = Stopwatch.StartNew();
        a.Abort();
        Assert.True(await ServerHost.EventuallyAsync(() => host.Server.Table.Count == 0, TimeSpan.FromSeconds(5)));
        var freed = clock.Elapsed;
        Assert.True(freed < TimeSpan.FromMilliseconds(500), $"the slot came back after {freed.TotalMilliseconds:0} ms");
        using var next = await host.ConnectAsync();
        await next.SendKeyAsync(RendezvousClient.NewKey());
        Assert.True(await ServerHost.EventuallyAsync(() => host.Server.Table.Count == 1));
        Assert.Equal(1, host.Counters.RejectedWaiting);
        Assert.Equal(1, host.Counters.Disconnected);
    }

    [Fact(Timeout = 20_000)]
    public async Task A_client_that_resets_during_its_key_gives_its_connection_slot_back_at_once()
    {
        using var host = new ServerHost(new ServerOptions { MaxConnections = 1, KeyTimeout = TimeSpan.FromSeconds(30) });
        using var a = await host.ConnectAsync();
        await a.SendAsync(new byte[] { 1, 2, 3 });
        Assert.True(await ServerHost.EventuallyAsync(() => host.Counters.Active == 1));

        var clock = Stopwatch.StartNew();
        a.Abort();
        Assert.True(await ServerHost.EventuallyAsync(() => host.Counters.Active == 0, TimeSpan.FromSeconds(5)));
        Assert.True(clock.Elapsed < TimeSpan.FromMilliseconds(500), $"the slot came back after {clock.Elapsed.TotalMilliseconds:0} ms");
        using var b = await host.ConnectAsync();
        await b.SendKeyAsync(RendezvousClient.NewKey());
        Assert.True(await ServerHost.EventuallyAsync(() => host.Server.Table.Count == 1));
        Assert.Equal(0, host.Counters.RejectedConnections);
        Assert.Equal(0, host.Counters.KeyTimedOut);
    }

    [Fact(Timeout = 20_000)]
    public async Task A_waiting_client_that_resets_gives_its_per_address_slot_back_at_once()
    {
        using var host = new ServerHost(new ServerOptions { MaxPerIp = 1 });
        var a = await host.ConnectAsync();
        await a.SendKeyAsync(RendezvousClient.NewKey());
        Assert.True(await ServerHost.EventuallyAsync(() => host.Server.Table.Count == 1));
        a.Abort();
        Assert.True(await ServerHost.EventuallyAsync(() => host.Counters.Active == 0, TimeSpan.FromMilliseconds(500)));

        var key = RendezvousClient.NewKey();
        using var b = await host.ConnectAsync();
        await b.SendKeyAsync(key);
        Assert.True(await ServerHost.EventuallyAsync(() => host.Server.Table.Count == 1));
        using var c = await RendezvousClient.ConnectAsync(host.EndPoint(), IPAddress.Parse("127.0.0.2"));
        await c.SendKeyAsync(key);
        Assert.Equal(Pairing.Observed(b), await c.ReadToEndAsync());
        Assert.Equal(0, host.Counters.RejectedPerIp);
    }
}
