using System.Net;
using Punchhole.Tests.Support;

namespace Punchhole.Tests.Proxy;

/// <summary>
/// A real HAProxy 2.6 (started by the test on a free port) in TCP mode, round robin over two tstun
/// instances with --proxy-protocol, once with send-proxy-v2 and once with send-proxy, with its
/// health checks on (check-send-proxy). Without a shared table the two clients of a pair must reach the same
/// instance: HAProxy's round robin alternates strictly, so the test connects in the order
/// A(key 1), C(key 2), B(key 1), D(key 2), and A meets B on one instance while C meets D on the
/// other. Each client is told the other's real address (127.0.0.2 or 127.0.0.3 and its port),
/// never HAProxy's 127.0.0.1.
/// </summary>
public class HaproxyTests
{
    private static readonly IPAddress s_second = IPAddress.Parse("127.0.0.2");
    private static readonly IPAddress s_third = IPAddress.Parse("127.0.0.3");

    [Theory(Timeout = 120_000)]
    [InlineData(ProxyVersion.V2)]
    [InlineData(ProxyVersion.V1)]
    public async Task Clients_behind_haproxy_are_told_each_others_real_address(ProxyVersion version)
    {
        using var instances = await InstancesBehindHaproxy.StartAsync(version);
        var (one, two, haproxy) = (instances.One, instances.Two, instances.Haproxy);

        // Clients of the pairs so far: each new connection is counted (waiting, or paired) before the next is made.
        int expected = 0;
        async Task<RendezvousClient> Connect(IPAddress from, byte[] key)
        {
            var client = await RendezvousClient.ConnectAsync(haproxy.Frontend, from);
            await client.SendKeyAsync(key);
            expected++;
            Assert.True(await Pairing.EventuallyAsync(async () => await InTables() == expected, TimeSpan.FromSeconds(15), TimeSpan.FromMilliseconds(20)),
                $"connection {expected} was not seen by either instance");
            return client;
        }
        async Task<long> InTables()
        {
            var (a, b) = (await one.StatsAsync(), await two.StatsAsync());
            return a["waiting"] + 2 * a["paired"] + b["waiting"] + 2 * b["paired"];
        }

        const int Rounds = 5;
        for (int round = 0; round < Rounds; round++)
        {
            var (first, second) = (RendezvousClient.NewKey(), RendezvousClient.NewKey());
            using var a = await Connect(s_second, first);
            using var c = await Connect(s_third, second);
            using var b = await Connect(s_third, first);
            using var d = await Connect(s_second, second);
            Assert.Equal(Pairing.Observed(b), await a.ReadToEndAsync());
            Assert.Equal(Pairing.Observed(a), await b.ReadToEndAsync());
            Assert.Equal(Pairing.Observed(d), await c.ReadToEndAsync());
            Assert.Equal(Pairing.Observed(c), await d.ReadToEndAsync());
        }

        // Both instances paired (round robin) and none refused a header. HAProxy's checks reached
        // both: with send-proxy-v2 they are LOCAL, the proxy's own connections; with send-proxy
        // they carry a TCP4 line naming HAProxy itself and close before a key, so they count as
        // bad keys (the reason the README recommends send-proxy-v2). Either way none is ever paired.
        string checks = version == ProxyVersion.V2 ? "health_checks" : "bad_keys";
        Assert.True(await Pairing.EventuallyAsync(async () => (await one.StatsAsync())[checks] > 0 && (await two.StatsAsync())[checks] > 0,
            TimeSpan.FromSeconds(10)), $"no health check reached both instances as {checks}");
        foreach (var server in new[] { one, two })
        {
            var stats = await server.StatsAsync();
            Assert.Equal(Rounds, stats["paired"]);
            Assert.Equal(0, stats["proxy_rejected"] + stats["key_timeouts"] + stats[version == ProxyVersion.V2 ? "bad_keys" : "health_checks"]);
            Assert.DoesNotContain(server.Lines, l => l.Contains("127.0.0.1 ", StringComparison.Ordinal) && l.Contains("paired", StringComparison.Ordinal));
        }
    }

    /// <summary>
    /// The same HAProxy in front of two instances that share their waiting table through a real
    /// redis-server: here the two clients of a pair are sent to different instances on purpose
    /// (round robin, one after the other), meet across instances, and each is still told the other's
    /// real address, carried by the PROXY header from one instance to the other through Redis.
    /// </summary>
    [Theory(Timeout = 120_000)]
    [InlineData(ProxyVersion.V2)]
    [InlineData(ProxyVersion.V1)]
    public async Task Clients_behind_haproxy_meet_across_instances_through_redis_and_get_real_addresses(ProxyVersion version)
    {
        using var redis = await RedisServer.StartAsync();
        using var instances = await InstancesBehindHaproxy.StartAsync(version, "--redis", redis.Configuration);
        var (one, two, haproxy) = (instances.One, instances.Two, instances.Haproxy);

        const int Rounds = 5;
        for (int round = 0; round < Rounds; round++)
        {
            var key = RendezvousClient.NewKey();
            using var a = await RendezvousClient.ConnectAsync(haproxy.Frontend, s_second);
            await a.SendKeyAsync(key);
            // A waits on one instance before B arrives, so B's claim finds A's registration in Redis.
            Assert.True(await Pairing.EventuallyAsync(async () => (await one.StatsAsync())["waiting"] + (await two.StatsAsync())["waiting"] == 1,
                TimeSpan.FromSeconds(15), TimeSpan.FromMilliseconds(20)), $"round {round}: the first client was not seen waiting");
            using var b = await RendezvousClient.ConnectAsync(haproxy.Frontend, s_third);
            await b.SendKeyAsync(key);
            Assert.Equal(Pairing.Observed(b), await a.ReadToEndAsync());
            Assert.Equal(Pairing.Observed(a), await b.ReadToEndAsync());
        }

        // HAProxy's round robin sent the two clients of every pair to different instances.
        long cross = (await one.StatsAsync())["cross_paired"] + (await two.StatsAsync())["cross_paired"];
        Assert.Equal(2 * Rounds, cross);
        foreach (var server in new[] { one, two })
        {
            var stats = await server.StatsAsync();
            Assert.Equal(0, stats["proxy_rejected"] + stats["redis_errors"]);
            Assert.DoesNotContain(server.Lines, l => l.Contains("127.0.0.1 ", StringComparison.Ordinal) && l.Contains("paired", StringComparison.Ordinal));
        }
    }

    /// <summary>Two tstun instances that trust PROXY headers from 127.0.0.1, and a HAProxy in front of both.</summary>
    private sealed class InstancesBehindHaproxy : IDisposable
    {
        public required ServerProcess One { get; init; }
        public required ServerProcess Two { get; init; }
        public HaproxyProcess Haproxy { get; private set; } = null!;

        public static async Task<InstancesBehindHaproxy> StartAsync(ProxyVersion version, params string[] extra)
        {
            string[] options = ["--port", "0", "--bind", "127.0.0.1", "--stats-interval", "0", "--proxy-protocol", "--trusted-proxy", "127.0.0.1/32", .. extra];
            var instances = new InstancesBehindHaproxy
            {
                One = ServerProcess.Start(Scale.ServerExecutable, options),
                Two = ServerProcess.Start(Scale.ServerExecutable, options),
            };
            try
            {
                IPEndPoint[] backends = [await instances.One.WaitUntilListeningAsync(), await instances.Two.WaitUntilListeningAsync()];
                instances.Haproxy = await HaproxyProcess.StartAsync(backends, version, checkEvery: TimeSpan.FromMilliseconds(300));
                return instances;
            }
            catch
            {
                instances.Dispose();
                throw;
            }
        }

        public void Dispose()
        {
            Haproxy?.Dispose();
            One.Dispose();
            Two.Dispose();
        }
    }
}
