using Punchhole.Server;
using Punchhole.Tests.Support;

namespace Punchhole.Tests.Server;

public class LimitTests
{
    [Fact(Timeout = 20_000)]
    public async Task A_client_without_a_partner_is_closed_without_a_reply_at_the_timeout()
    {
        using var host = new ServerHost(new ServerOptions { WaitTimeout = TimeSpan.FromMilliseconds(500) });
        using var a = await host.ConnectAsync();
        var started = DateTime.UtcNow;
        await a.SendKeyAsync(RendezvousClient.NewKey());
        Assert.Equal("", await a.ReadToEndAsync(TimeSpan.FromSeconds(5)));
        var waited = DateTime.UtcNow - started;
        Assert.InRange(waited, TimeSpan.FromMilliseconds(450), TimeSpan.FromSeconds(3));
        Assert.Equal(1, host.Counters.TimedOut);
        Assert.Equal(0, host.Server.Table.Count);
    }

    [Fact(Timeout = 20_000)]
    public async Task A_client_that_sends_part_of_its_key_is_closed_at_the_key_timeout()
    {
        using var host = new ServerHost(new ServerOptions { KeyTimeout = TimeSpan.FromMilliseconds(500) });
        using var a = await host.ConnectAsync();
        var started = DateTime.UtcNow;
        await a.SendAsync(new byte[1]);
        Assert.Equal("", await a.ReadToEndAsync(TimeSpan.FromSeconds(5)));
        Assert.InRange(DateTime.UtcNow - started, TimeSpan.FromMilliseconds(450), TimeSpan.FromSeconds(3));
        Assert.Equal(1, host.Counters.KeyTimedOut);
    }

    [Fact(Timeout = 20_000)]
    public async Task A_silent_client_is_closed_after_the_accept_deferral_and_the_key_timeout()
    {
        using var host = new ServerHost(new ServerOptions { KeyTimeout = TimeSpan.FromMilliseconds(500) });
        using var a = await host.ConnectAsync();
        var started = DateTime.UtcNow;
        Assert.Equal("", await a.ReadToEndAsync(TimeSpan.FromSeconds(10)));
        // The kernel holds a silent connection for the deferral (1 s, rounded up to SYN-ACK retries) first.
        Assert.InRange(DateTime.UtcNow - started, TimeSpan.FromMilliseconds(450), TimeSpan.FromSeconds(8));
        Assert.Equal(1, host.Counters.KeyTimedOut);
    }

    [Fact(Timeout = 20_000)]
    public async Task Past_the_waiting_cap_a_new_unpaired_client_is_closed_at_once_and_counted()
    {
        using var host = new ServerHost(new ServerOptions { MaxWaiting = 2 });
        using var a = await host.ConnectAsync();
        using var b = await host.ConnectAsync();
        var keyA = RendezvousClient.NewKey();
        await a.SendKeyAsync(keyA);
        await b.SendKeyAsync(RendezvousClient.NewKey());
        Assert.True(await ServerHost.EventuallyAsync(() => host.Server.Table.Count == 2));

        using var c = await host.ConnectAsync();
        await c.SendKeyAsync(RendezvousClient.NewKey());
        Assert.Equal("", await c.ReadToEndAsync(TimeSpan.FromSeconds(2)));
        Assert.Equal(1, host.Counters.RejectedWaiting);

        // A partner for a waiting client is never turned away by the cap.
        using var d = await host.ConnectAsync();
        await d.SendKeyAsync(keyA);
        Assert.NotEqual("", await d.ReadToEndAsync());
        Assert.NotEqual("", await a.ReadToEndAsync());
    }

    [Fact(Timeout = 20_000)]
    public async Task Past_the_connection_cap_a_client_is_closed_at_once_and_counted()
    {
        using var host = new ServerHost(new ServerOptions { MaxConnections = 1 });
        using var a = await host.ConnectAsync();
        await a.SendKeyAsync(RendezvousClient.NewKey());
        Assert.True(await ServerHost.EventuallyAsync(() => host.Server.Table.Count == 1));
        using var b = await host.ConnectAsync();
        await b.SendKeyAsync(RendezvousClient.NewKey());
        Assert.Equal("", await b.ReadToEndAsync(TimeSpan.FromSeconds(2)));
        Assert.Equal(1, host.Counters.RejectedConnections);
    }

    [Fact(Timeout = 20_000)]
    public async Task Past_the_per_address_cap_a_client_is_closed_at_once_and_counted()
    {
        using var host = new ServerHost(new ServerOptions { MaxPerIp = 2 });
        var key = RendezvousClient.NewKey();
        using var a = await host.ConnectAsync();
        using var b = await host.ConnectAsync();
        await a.SendKeyAsync(RendezvousClient.NewKey());
        await b.SendKeyAsync(RendezvousClient.NewKey());
        Assert.True(await ServerHost.EventuallyAsync(() => host.Server.Table.Count == 2));
        using var c = await host.ConnectAsync();
        await c.SendKeyAsync(key);
        Assert.Equal("", await c.ReadToEndAsync(TimeSpan.FromSeconds(2)));
        Assert.Equal(1, host.Counters.RejectedPerIp);

        // Another address is not affected.
        using var other = await RendezvousClient.ConnectAsync(host.EndPoint(), System.Net.IPAddress.Parse("127.0.0.2"));
        await other.SendKeyAsync(key);
        Assert.True(await ServerHost.EventuallyAsync(() => host.Server.Table.Count == 3));
    }
}
