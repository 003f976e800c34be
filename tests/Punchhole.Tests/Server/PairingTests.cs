using System.Net;
using Punchhole.Server;
using Punchhole.Tests.Support;

namespace Punchhole.Tests.Server;

public class PairingTests
{
    private static string Observed(RendezvousClient client)
    {
        var local = client.LocalEndPoint;
        var address = local.Address.IsIPv4MappedToIPv6 ? local.Address.MapToIPv4() : local.Address;
        return $"{address} {local.Port}";
    }

    private static async Task PairAsync(ServerHost host, bool firstIPv6, bool secondIPv6)
    {
        var key = RendezvousClient.NewKey();
        using var a = await host.ConnectAsync(firstIPv6);
        await a.SendKeyAsync(key);
        Assert.True(await ServerHost.EventuallyAsync(() => host.Server.Table.Count == 1));
        using var b = await host.ConnectAsync(secondIPv6);
        await b.SendKeyAsync(key);

        Assert.Equal(Observed(b), await a.ReadToEndAsync());
        Assert.Equal(Observed(a), await b.ReadToEndAsync());
    }

    [Fact(Timeout = 20_000)]
    public async Task Two_IPv4_clients_with_one_key_each_learn_the_others_address()
    {
        using var host = new ServerHost();
        await PairAsync(host, firstIPv6: false, secondIPv6: false);
        Assert.Equal(1, host.Counters.Pairs);
    }

    [Fact(Timeout = 20_000)]
    public async Task Two_IPv6_clients_pair()
    {
        using var host = new ServerHost(new ServerOptions { Bind = IPAddress.IPv6Loopback });
        await PairAsync(host, firstIPv6: true, secondIPv6: true);
    }

    [Fact(Timeout = 20_000)]
    public async Task A_dual_stack_server_writes_IPv4_clients_without_the_mapped_prefix()
    {
        using var host = new ServerHost(new ServerOptions { Bind = IPAddress.IPv6Any });
        Assert.True(host.Server.LocalEndPoint!.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6);

        var key = RendezvousClient.NewKey();
        using var v4 = await host.ConnectAsync(ipv6: false);
        await v4.SendKeyAsync(key);
        Assert.True(await ServerHost.EventuallyAsync(() => host.Server.Table.Count == 1));
        using var v6 = await host.ConnectAsync(ipv6: true);
        await v6.SendKeyAsync(key);

        string toV6 = await v6.ReadToEndAsync();
        Assert.StartsWith("127.0.0.1 ", toV6, StringComparison.Ordinal);
        Assert.DoesNotContain("ffff", toV6, StringComparison.Ordinal);
        Assert.Equal(Observed(v4), toV6);
        Assert.Equal($"::1 {v6.LocalEndPoint.Port}", await v4.ReadToEndAsync());
    }

    [Fact(Timeout = 20_000)]
    public async Task A_key_arriving_one_byte_at_a_time_still_pairs()
    {
        using var host = new ServerHost();
        var key = RendezvousClient.NewKey();
        using var a = await host.ConnectAsync();
        for (int i = 0; i < key.Length; i++)
        {
            await a.SendAsync(key.AsMemory(i, 1));
            await Task.Delay(5);
        }
        Assert.True(await ServerHost.EventuallyAsync(() => host.Server.Table.Count == 1));
        using var b = await host.ConnectAsync();
        await b.SendKeyAsync(key);
        Assert.Equal(Observed(b), await a.ReadToEndAsync());
        Assert.Equal(Observed(a), await b.ReadToEndAsync());
    }

    [Fact(Timeout = 20_000)]
    public async Task Bytes_after_the_32nd_are_ignored()
    {
        using var host = new ServerHost();
        var key = RendezvousClient.NewKey();
        using var a = await host.ConnectAsync();
        await a.SendKeyAsync([.. key, .. "trailing junk"u8.ToArray()]);
        Assert.True(await ServerHost.EventuallyAsync(() => host.Server.Table.Count == 1));
        using var b = await host.ConnectAsync();
        await b.SendKeyAsync(key);
        Assert.Equal(Observed(a), await b.ReadToEndAsync());
    }

    [Fact(Timeout = 20_000)]
    public async Task A_short_key_then_EOF_gets_no_reply()
    {
        using var host = new ServerHost();
        using var a = await host.ConnectAsync();
        await a.SendKeyAsync(RendezvousClient.NewKey()[..31]);
        Assert.Equal("", await a.ReadToEndAsync());
        Assert.True(await ServerHost.EventuallyAsync(() => host.Counters.BadKeys == 1));
        Assert.Equal(0, host.Server.Table.Count);
    }

    [Fact(Timeout = 20_000)]
    public async Task Different_keys_do_not_pair()
    {
        using var host = new ServerHost();
        using var a = await host.ConnectAsync();
        using var b = await host.ConnectAsync();
        await a.SendKeyAsync(RendezvousClient.NewKey());
        await b.SendKeyAsync(RendezvousClient.NewKey());
        Assert.True(await ServerHost.EventuallyAsync(() => host.Server.Table.Count == 2));
        Assert.True(await a.StaysSilentAsync(TimeSpan.FromMilliseconds(300)));
        Assert.True(await b.StaysSilentAsync(TimeSpan.FromMilliseconds(1)));
    }

    [Fact(Timeout = 20_000)]
    public async Task A_third_client_never_learns_a_paired_address_and_waits_as_the_first_of_a_new_pair()
    {
        using var host = new ServerHost();
        var key = RendezvousClient.NewKey();
        using var a = await host.ConnectAsync();
        await a.SendKeyAsync(key);
        Assert.True(await ServerHost.EventuallyAsync(() => host.Server.Table.Count == 1));
        using var b = await host.ConnectAsync();
        await b.SendKeyAsync(key);
        Assert.Equal(Observed(a), await b.ReadToEndAsync());
        Assert.Equal(Observed(b), await a.ReadToEndAsync());

        using var c = await host.ConnectAsync();
        await c.SendKeyAsync(key);
        Assert.True(await ServerHost.EventuallyAsync(() => host.Server.Table.Count == 1));
        Assert.True(await c.StaysSilentAsync(TimeSpan.FromMilliseconds(300)));

        using var d = await host.ConnectAsync();
        await d.SendKeyAsync(key);
        Assert.Equal(Observed(d), await c.ReadToEndAsync());
        Assert.Equal(Observed(c), await d.ReadToEndAsync());
    }

    [Fact(Timeout = 20_000)]
    public async Task A_waiting_client_that_resets_frees_its_key_at_once()
    {
        using var host = new ServerHost();
        var key = RendezvousClient.NewKey();
        var a = await host.ConnectAsync();
        await a.SendKeyAsync(key);
        Assert.True(await ServerHost.EventuallyAsync(() => host.Server.Table.Count == 1));
        a.Abort();
        Assert.True(await ServerHost.EventuallyAsync(() => host.Counters.Disconnected == 1 && host.Server.Table.Count == 0, TimeSpan.FromSeconds(2)),
            "the reset client still holds its key");

        // The key is free: the next two clients pair with each other, not with the one that left.
        using var b = await host.ConnectAsync();
        await b.SendKeyAsync(key);
        Assert.True(await ServerHost.EventuallyAsync(() => host.Server.Table.Count == 1));
        using var c = await host.ConnectAsync();
        await c.SendKeyAsync(key);
        Assert.Equal(Observed(c), await b.ReadToEndAsync());
        Assert.Equal(Observed(b), await c.ReadToEndAsync());
    }

    [Fact(Timeout = 60_000)]
    public async Task Two_thousand_concurrent_pairings_each_get_their_partners_address()
    {
        const int Pairs = 2000;
        using var host = new ServerHost();
        var results = await ManyClients.RunAsync(Pairs, async _ =>
        {
            var key = RendezvousClient.NewKey();
            using var a = await host.ConnectAsync();
            using var b = await host.ConnectAsync();
            await Task.WhenAll(a.SendKeyAsync(key), b.SendKeyAsync(key));
            var replies = await Task.WhenAll(a.ReadToEndAsync(TimeSpan.FromSeconds(30)), b.ReadToEndAsync(TimeSpan.FromSeconds(30)));
            return replies[0] == Observed(b) && replies[1] == Observed(a);
        });
        Assert.Equal(Pairs, results.Count(ok => ok));
        Assert.Equal(Pairs, host.Counters.Pairs);
        Assert.True(await ServerHost.EventuallyAsync(() => host.Counters.Active == 0));
    }
}
