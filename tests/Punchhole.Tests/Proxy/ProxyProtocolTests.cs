using System.Diagnostics;
using System.Net;
using Punchhole.Tests.Support;

namespace Punchhole.Tests.Proxy;

/// <summary>
/// tstun --proxy-protocol against headers written by the test itself, byte for byte: the address a
/// header carries is what the partner is told, what the caps count and what the log shows; an
/// untrusted source, a malformed or partial header, and a header too slow are closed with no reply
/// and counted; a proxy's own connections (LOCAL, UNKNOWN, a connect and close) are health checks.
/// </summary>
public class ProxyProtocolTests
{
    private static readonly IPEndPoint s_tstunSide = new(IPAddress.Parse("10.0.0.1"), 3477);

    private static ServerProcess StartServer(params string[] options) =>
        ServerProcess.Start(Scale.ServerExecutable,
            ["--port", "0", "--bind", LocalPorts.UniqueLoopback().ToString(), "--stats-interval", "0", "--proxy-protocol", "--trusted-proxy", "127.0.0.1", .. options]);

    /// <summary>A connection from the proxy's address (127.0.0.1) that sends <paramref name="header"/>, then the key, and half-closes.</summary>
    private static async Task<RendezvousClient> ProxiedAsync(IPEndPoint server, byte[] header, byte[] key, IPAddress? from = null)
    {
        var client = await RendezvousClient.ConnectAsync(server, from ?? IPAddress.Loopback);
        await client.SendAsync(header);
        await client.SendKeyAsync(key);
        return client;
    }

    private static IPEndPoint At(string address, int port) => new(IPAddress.Parse(address), port);

    /// <summary>Header and key in one write, then a half-close; a server that already reset the connection is no error here.</summary>
    private static async Task<RendezvousClient> RefusedAsync(IPEndPoint server, byte[] header, byte[] key, IPAddress? from = null)
    {
        var client = await RendezvousClient.ConnectAsync(server, from ?? IPAddress.Loopback);
        try
        {
            await client.SendKeyAsync([.. header, .. key]);
        }
        catch (System.Net.Sockets.SocketException)
        {
            // Closed already, as it should be: what matters is that no reply ever comes.
        }
        return client;
    }

    [Fact(Timeout = 60_000)]
    public async Task Version_1_and_2_headers_name_the_clients_each_is_told_the_others_carried_address()
    {
        using var server = StartServer("--verbose");
        var endPoint = await server.WaitUntilListeningAsync();
        var key = RendezvousClient.NewKey();
        using var v1 = await ProxiedAsync(endPoint, ProxyHeaders.V1(At("198.51.100.7", 40000), s_tstunSide), key);
        using var v2 = await ProxiedAsync(endPoint, ProxyHeaders.V2(At("2001:db8::7", 41000), At("2001:db8::1", 3477),
            ProxyHeaders.Tlv(0x05, new byte[16])), key);
        Assert.Equal("2001:db8::7 41000", await v1.ReadToEndAsync());
        Assert.Equal("198.51.100.7 40000", await v2.ReadToEndAsync());

        // An IPv4 client behind an IPv6 proxy: the reply is a dotted quad.
        var other = RendezvousClient.NewKey();
        using var mapped = await ProxiedAsync(endPoint, ProxyHeaders.V2(At("::ffff:198.51.100.8", 40002), At("::ffff:10.0.0.1", 3477)), other);
        using var plain = await ProxiedAsync(endPoint, ProxyHeaders.V1("PROXY TCP4 198.51.100.9 10.0.0.1 40003 3477"), other);
        Assert.Equal("198.51.100.9 40003", await mapped.ReadToEndAsync());
        Assert.Equal("198.51.100.8 40002", await plain.ReadToEndAsync());

        var stats = await server.StatsAsync();
        Assert.Equal(2, stats["paired"]);
        Assert.Equal(0, stats["proxy_rejected"] + stats["health_checks"] + stats["bad_keys"]);
        ServerProcess.AssertAccountedFor(stats);
        // The log names the clients, not the proxy.
        Assert.Contains(server.Lines, l => l.Contains("198.51.100.7 40000: paired", StringComparison.Ordinal));
        Assert.Contains(server.Lines, l => l.Contains("2001:db8::7 41000: paired", StringComparison.Ordinal));
        Assert.DoesNotContain(server.Lines, l => l.Contains("127.0.0.1 ", StringComparison.Ordinal) && l.Contains("paired", StringComparison.Ordinal));
    }

    [Fact(Timeout = 60_000)]
    public async Task A_header_and_key_in_pieces_byte_by_byte_are_read_exactly()
    {
        using var server = StartServer();
        var endPoint = await server.WaitUntilListeningAsync();
        var key = RendezvousClient.NewKey();
        // The key starts with what could pass for more header: only the header's own bytes are taken.
        key[0] = (byte)'\r';
        key[1] = (byte)'\n';
        async Task<RendezvousClient> Slowly(byte[] header)
        {
            var client = await RendezvousClient.ConnectAsync(endPoint, IPAddress.Loopback);
            foreach (byte b in header.Concat(key))
            {
                await client.SendAsync(new[] { b });
                await Task.Delay(2);
            }
            await client.SendKeyAsync([], halfClose: true);
            return client;
        }
        var first = Slowly(ProxyHeaders.V1(At("198.51.100.7", 40000), s_tstunSide));
        var second = Slowly(ProxyHeaders.V2(At("198.51.100.8", 40001), s_tstunSide));
        using var a = await first;
        using var b = await second;
        Assert.Equal("198.51.100.8 40001", await a.ReadToEndAsync());
        Assert.Equal("198.51.100.7 40000", await b.ReadToEndAsync());
    }

    [Fact(Timeout = 60_000)]
    public async Task A_source_that_is_not_a_trusted_proxy_is_closed_with_no_reply_and_counted()
    {
        using var server = ServerProcess.Start(Scale.ServerExecutable,
            "--port", "0", "--bind", "127.0.0.1", "--stats-interval", "0", "--proxy-protocol", "--trusted-proxy", "127.0.0.2/32", "--trusted-proxy", "2001:db8::/32");
        var endPoint = await server.WaitUntilListeningAsync();
        var key = RendezvousClient.NewKey();
        // A valid header from 127.0.0.3, whose partner is waiting behind the trusted proxy: neither learns anything.
        using var trusted = await ProxiedAsync(endPoint, ProxyHeaders.V1(At("198.51.100.7", 40000), s_tstunSide), key, IPAddress.Parse("127.0.0.2"));
        Assert.True(await Pairing.EventuallyAsync(async () => (await server.StatsAsync())["waiting"] == 1, TimeSpan.FromSeconds(10)));
        using var spoofer = await RefusedAsync(endPoint, ProxyHeaders.V1(At("198.51.100.66", 666), s_tstunSide), key, IPAddress.Parse("127.0.0.3"));
        Assert.Equal("", await spoofer.ReadToEndAsync());
        Assert.True(await Pairing.EventuallyAsync(async () => (await server.StatsAsync())["proxy_rejected"] == 1, TimeSpan.FromSeconds(10)));
        var stats = await server.StatsAsync();
        Assert.Equal(1, stats["waiting"]);
        Assert.Equal(0, stats["paired"]);
        Assert.True(await trusted.StaysSilentAsync(TimeSpan.FromMilliseconds(200)));
    }

    public static TheoryData<string, byte[]> MalformedHeaders() => new()
    {
        { "no header at all, only a key", [] },
        { "v1 ended by LF alone", "PROXY TCP4 198.51.100.7 10.0.0.1 40000 3477\n"u8.ToArray() },
        { "v1 with a leading zero", "PROXY TCP4 198.51.100.07 10.0.0.1 40000 3477\r\n"u8.ToArray() },
        { "v1 TCP6 with IPv4 addresses", "PROXY TCP6 198.51.100.7 10.0.0.1 40000 3477\r\n"u8.ToArray() },
        { "v1 port past 65535", "PROXY TCP4 198.51.100.7 10.0.0.1 65536 3477\r\n"u8.ToArray() },
        { "v1 longer than 107 bytes", [.. "PROXY UNKNOWN "u8, .. Enumerable.Repeat((byte)'f', 100), .. "\r\n"u8] },
        { "v2 version 1", [.. ProxyHeaders.V2Signature, 0x11, 0x11, 0, 12, .. new byte[12]] },
        { "v2 command 2", [.. ProxyHeaders.V2Signature, 0x22, 0x11, 0, 12, .. new byte[12]] },
        { "v2 family 4", [.. ProxyHeaders.V2Signature, 0x21, 0x41, 0, 12, .. new byte[12]] },
        { "v2 IPv6 addresses cut short", [.. ProxyHeaders.V2Signature, 0x21, 0x21, 0, 12, .. new byte[12]] },
        { "v2 longer than 536 bytes", [.. ProxyHeaders.V2Signature, 0x21, 0x11, 0x02, 0x10] },
        { "v2 with a bad signature", [.. ProxyHeaders.V2Signature[..11], 0x0B, 0x21, 0x11, 0, 12, .. new byte[12]] },
        { "an HTTP request", "GET / HTTP/1.1\r\n\r\n"u8.ToArray() },
        { "a TLS hello", [0x16, 0x03, 0x01, 0x02, 0x00] },
        { "a source port of 0", "PROXY TCP4 198.51.100.7 10.0.0.1 0 3477\r\n"u8.ToArray() },
    };

    [Theory(Timeout = 60_000)]
    [MemberData(nameof(MalformedHeaders))]
    public async Task A_malformed_header_is_closed_with_no_reply_and_counted(string what, byte[] header)
    {
        using var server = StartServer();
        var endPoint = await server.WaitUntilListeningAsync();
        var key = RendezvousClient.NewKey();
        using var waiter = await ProxiedAsync(endPoint, ProxyHeaders.V1(At("198.51.100.7", 40000), s_tstunSide), key);
        Assert.True(await Pairing.EventuallyAsync(async () => (await server.StatsAsync())["waiting"] == 1, TimeSpan.FromSeconds(10)));
        using var bad = await RefusedAsync(endPoint, header, key);
        Assert.True(await bad.ReadToEndAsync() == "", what);
        var stats = await server.StatsAsync();
        Assert.True(stats["proxy_rejected"] == 1, $"{what}: proxy_rejected={stats["proxy_rejected"]}");
        Assert.Equal(0, stats["paired"]);
        Assert.Equal(1, stats["waiting"]);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_partial_header_then_EOF_is_refused_and_counted()
    {
        using var server = StartServer();
        var endPoint = await server.WaitUntilListeningAsync();
        using var partial = await RendezvousClient.ConnectAsync(endPoint, IPAddress.Loopback);
        await partial.SendKeyAsync(ProxyHeaders.V2(At("198.51.100.7", 40000), s_tstunSide)[..20]);
        Assert.Equal("", await partial.ReadToEndAsync());
        Assert.True(await Pairing.EventuallyAsync(async () => (await server.StatsAsync())["proxy_rejected"] == 1, TimeSpan.FromSeconds(10)));
    }

    [Fact(Timeout = 60_000)]
    public async Task The_proxys_own_connections_are_health_checks_closed_quietly()
    {
        using var server = StartServer("--defer-accept", "0");
        var endPoint = await server.WaitUntilListeningAsync();
        // LOCAL, as HAProxy's checks send with send-proxy-v2, even with addresses and a key after it.
        using var local = await RendezvousClient.ConnectAsync(endPoint, IPAddress.Loopback);
        await local.SendAsync(ProxyHeaders.V2Local());
        Assert.Equal("", await local.ReadToEndAsync());
        using var localWithKey = await ProxiedAsync(endPoint, ProxyHeaders.V2(0, 0x11, new byte[12]), RendezvousClient.NewKey());
        Assert.Equal("", await localWithKey.ReadToEndAsync());
        // UNKNOWN (v1) and AF_UNSPEC (v2): no client to name, so nobody is ever told the proxy's address.
        using var unknown = await ProxiedAsync(endPoint, ProxyHeaders.V1("PROXY UNKNOWN"), RendezvousClient.NewKey());
        Assert.Equal("", await unknown.ReadToEndAsync());
        using var unspec = await ProxiedAsync(endPoint, ProxyHeaders.V2(1, 0x00, []), RendezvousClient.NewKey());
        Assert.Equal("", await unspec.ReadToEndAsync());
        // A plain TCP check: connect and close before any byte.
        using (await RendezvousClient.ConnectAsync(endPoint, IPAddress.Loopback))
        {
        }
        Assert.True(await Pairing.EventuallyAsync(async () => (await server.StatsAsync())["active"] == 0, TimeSpan.FromSeconds(10)));
        var stats = await server.StatsAsync();
        Assert.Equal(5, stats["health_checks"]);
        Assert.Equal(0, stats["proxy_rejected"] + stats["bad_keys"] + stats["key_timeouts"]);
        ServerProcess.AssertAccountedFor(stats);
        // Quietly: nothing logged per connection.
        Assert.DoesNotContain(server.Lines, l => l.Contains("127.0.0.1 ", StringComparison.Ordinal));
    }

    [Fact(Timeout = 60_000)]
    public async Task A_header_that_does_not_finish_within_the_key_timeout_is_closed_with_no_reply()
    {
        using var server = StartServer("--key-timeout", "1", "--defer-accept", "0");
        var endPoint = await server.WaitUntilListeningAsync();
        byte[] header = ProxyHeaders.V1(At("198.51.100.7", 40000), s_tstunSide);
        using var slow = await RendezvousClient.ConnectAsync(endPoint, IPAddress.Loopback);
        var clock = Stopwatch.StartNew();
        await slow.SendAsync(header[..10]);
        using var silent = await RendezvousClient.ConnectAsync(endPoint, IPAddress.Loopback);
        // Header in time, key not: the one deadline covers both.
        using var keyless = await RendezvousClient.ConnectAsync(endPoint, IPAddress.Loopback);
        await keyless.SendAsync(header);
        Assert.Equal("", await slow.ReadToEndAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal("", await silent.ReadToEndAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal("", await keyless.ReadToEndAsync(TimeSpan.FromSeconds(10)));
        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(0.9), TimeSpan.FromSeconds(6));
        var stats = await server.StatsAsync();
        Assert.Equal(3, stats["key_timeouts"]);
        Assert.Equal(0, stats["proxy_rejected"] + stats["health_checks"]);
        ServerProcess.AssertAccountedFor(stats);
    }

    [Fact(Timeout = 60_000)]
    public async Task Per_address_caps_count_the_carried_address_not_the_proxys()
    {
        using var server = StartServer("--max-per-ip", "1", "--max-waiting-per-source", "1");
        var endPoint = await server.WaitUntilListeningAsync();
        var header = ProxyHeaders.V1(At("198.51.100.7", 40000), s_tstunSide);
        using var first = await ProxiedAsync(endPoint, header, RendezvousClient.NewKey());
        Assert.True(await Pairing.EventuallyAsync(async () => (await server.StatsAsync())["waiting"] == 1, TimeSpan.FromSeconds(10)));
        // The same client address again: over --max-per-ip, though the proxy's own address has many.
        using var second = await ProxiedAsync(endPoint, ProxyHeaders.V1(At("198.51.100.7", 40001), s_tstunSide), RendezvousClient.NewKey());
        Assert.Equal("", await second.ReadToEndAsync());
        // Another address of the same IPv6 /64 counts as the same source; another /64 does not.
        using var v6 = await ProxiedAsync(endPoint, ProxyHeaders.V1(At("2001:db8:1:2::1", 40002), At("2001:db8::1", 3477)), RendezvousClient.NewKey());
        Assert.True(await Pairing.EventuallyAsync(async () => (await server.StatsAsync())["waiting"] == 2, TimeSpan.FromSeconds(10)));
        using var sameSlash64 = await ProxiedAsync(endPoint, ProxyHeaders.V1(At("2001:db8:1:2::99", 40003), At("2001:db8::1", 3477)), RendezvousClient.NewKey());
        Assert.Equal("", await sameSlash64.ReadToEndAsync());
        var pair = RendezvousClient.NewKey();
        using var a = await ProxiedAsync(endPoint, ProxyHeaders.V1(At("2001:db8:1:3::1", 40004), At("2001:db8::1", 3477)), pair);
        using var b = await ProxiedAsync(endPoint, ProxyHeaders.V1(At("198.51.100.8", 40005), s_tstunSide), pair);
        Assert.Equal("198.51.100.8 40005", await a.ReadToEndAsync());
        Assert.Equal("2001:db8:1:3::1 40004", await b.ReadToEndAsync());
        var stats = await server.StatsAsync();
        Assert.Equal(2, stats["rejected_per_ip"]);
        Assert.Equal(1, stats["paired"]);
    }

    [Fact(Timeout = 60_000)]
    public async Task The_share_of_the_waiting_table_counts_the_carried_address()
    {
        using var server = StartServer("--max-waiting-per-source", "2");
        var endPoint = await server.WaitUntilListeningAsync();
        var clients = new List<RendezvousClient>();
        for (int i = 0; i < 2; i++)
        {
            clients.Add(await ProxiedAsync(endPoint, ProxyHeaders.V1(At("198.51.100.7", 40000 + i), s_tstunSide), RendezvousClient.NewKey()));
        }
        Assert.True(await Pairing.EventuallyAsync(async () => (await server.StatsAsync())["waiting"] == 2, TimeSpan.FromSeconds(10)));
        using var third = await ProxiedAsync(endPoint, ProxyHeaders.V1(At("198.51.100.7", 40009), s_tstunSide), RendezvousClient.NewKey());
        Assert.Equal("", await third.ReadToEndAsync());
        // Another client behind the same proxy still waits.
        clients.Add(await ProxiedAsync(endPoint, ProxyHeaders.V1(At("198.51.100.8", 40010), s_tstunSide), RendezvousClient.NewKey()));
        Assert.True(await Pairing.EventuallyAsync(async () => (await server.StatsAsync())["waiting"] == 3, TimeSpan.FromSeconds(10)));
        var stats = await server.StatsAsync();
        Assert.Equal(1, stats["rejected_per_source"]);
        clients.ForEach(c => c.Dispose());
    }
}
