using System.Globalization;
using System.Net;
using Punchhole.Tests.Support;

namespace Punchhole.Tests.Cluster;

/// <summary>
/// Two secure punchhole clients that cannot reach each other (iptables drops everything between
/// 127.0.0.2 and 127.0.0.3, in a private network namespace), behind a real HAProxy that balances
/// two tstun instances round robin with the PROXY protocol, the instances sharing their waiting
/// table through a real redis-server: their rendezvous connections land on different instances,
/// and they continue through the relay of one of them, reached at its own port on HAProxy
/// (--relay-address). Everything runs inside the namespace, on ports of its own.
/// </summary>
[Collection(HeavyCollection.Name)]
public sealed class ClusterRelayClientTests
{
    private const string Code = "482913-aban-abel-abir";
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(40);

    [SkippableFact(Timeout = 150_000)]
    public async Task Secure_clients_whose_rendezvous_reached_different_instances_behind_haproxy_meet_on_one_relay_and_exchange_data_intact()
    {
        using var ns = LoopbackNamespace.Create();
        ns.Iptables("-A", "INPUT", "-s", "127.0.0.2", "-d", "127.0.0.3", "-j", "DROP");
        ns.Iptables("-A", "INPUT", "-s", "127.0.0.3", "-d", "127.0.0.2", "-j", "DROP");
        using var redis = await RedisServer.StartAsync(ns);
        IPEndPoint[] listen = [new(IPAddress.Loopback, LocalPorts.Free()), new(IPAddress.Loopback, LocalPorts.Free())];
        IPEndPoint[] relayAt = [new(IPAddress.Loopback, LocalPorts.Free()), new(IPAddress.Loopback, LocalPorts.Free())];
        var instances = new ServerProcess[2];
        HaproxyProcess? balancer = null;
        ChildProcess? a = null, b = null;
        try
        {
            for (int i = 0; i < 2; i++)
            {
                instances[i] = ServerProcess.Start("ip", ns.Wrap(Scale.ServerExecutable, "--port", listen[i].Port.ToString(CultureInfo.InvariantCulture),
                    "--bind", "127.0.0.1", "--stats-interval", "0", "--redis", redis.Configuration, "--proxy-protocol", "--trusted-proxy", "127.0.0.1/32",
                    "--relay", "--relay-mbit", "0", "--relay-address", relayAt[i].ToString()));
            }
            foreach (var instance in instances)
            {
                await instance.WaitUntilListeningAsync();
                await instance.WaitForLineAsync("redis: instance");
            }
            balancer = await HaproxyProcess.StartAsync(listen, ProxyVersion.V2, direct: relayAt, inside: ns);

            ChildProcess Client(int host) => ChildProcess.Start("ip", ns.Wrap(ClientProgram.Executable,
                [.. ClientProgram.Server(balancer.Frontend.Port), "-H", $"127.0.0.{host}", "--punch-timeout", "2", Code]));
            // One after the other, so that round robin sends them to different instances.
            a = Client(2);
            await a.WaitForLineAsync("waiting for the peer", Wait);
            b = Client(3);
            Assert.NotNull(await a.WaitForLineAsync("the peer knows the code", Wait));
            Assert.NotNull(await b.WaitForLineAsync("the peer knows the code", Wait));

            byte[] fromA = StreamCheck.RandomBytes(1 << 20), fromB = "from b\n"u8.ToArray();
            var heardByB = ReadAllAsync(b.Output);
            var heardByA = ReadAllAsync(a.Output);
            await a.Input.WriteAsync(fromA);
            await a.Input.FlushAsync();
            a.Input.Close();
            await b.Input.WriteAsync(fromB);
            await b.Input.FlushAsync();
            b.Input.Close();
            Assert.Equal(0, await a.WaitForExitAsync(Wait));
            Assert.Equal(0, await b.WaitForExitAsync(Wait));
            Assert.Equal(StreamCheck.Digest(fromA), StreamCheck.Digest(await heardByB));
            Assert.Equal(fromB, await heardByA);

            // Each instance had one of the two rendezvous; the relay of one of them joined both legs.
            var stats = await Task.WhenAll(instances.Select(i => i.StatsAsync()));
            Assert.All(stats, s => Assert.Equal(1, s["cross_paired"]));
            int relayIndex = Array.FindIndex(stats, s => s["relay_joined"] == 1);
            Assert.True(relayIndex >= 0, "no instance joined the relay legs: " + string.Join(" | ", stats.Select(s => string.Join(' ', s))));
            Assert.Equal(0, stats[1 - relayIndex]["relay_joined"] + stats[1 - relayIndex]["relay_refused"]);
            foreach (var client in new[] { a, b })
            {
                Assert.Contains(client.Lines, l => l.Contains($"relayed through tstun (no direct path): via {relayAt[relayIndex]}", StringComparison.Ordinal));
                Assert.DoesNotContain(client.Lines, l => l.Contains("connected directly", StringComparison.Ordinal));
                ClientProgram.AssertReadable(client);
            }
        }
        finally
        {
            a?.Dispose();
            b?.Dispose();
            balancer?.Dispose();
            foreach (var instance in instances)
            {
                instance?.Dispose();
            }
        }
    }

    private static async Task<byte[]> ReadAllAsync(Stream stream)
    {
        using var copy = new MemoryStream();
        using var timeout = new CancellationTokenSource(Wait);
        await stream.CopyToAsync(copy, timeout.Token);
        return copy.ToArray();
    }
}
