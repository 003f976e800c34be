using System.Globalization;
using System.Net;
using Punchhole.Protocol;
using Punchhole.Protocol.V2;
using Punchhole.Tests.Support;

namespace Punchhole.Tests.Cluster;

/// <summary>
/// The relay across instances (tstun --redis --relay --relay-address): a T-STUN/2 pair whose two
/// clients reach different instances gets what a local pair gets, each the other's candidates and
/// a relay token, and both tokens name the relay of the instance whose client waited, where the two
/// legs meet. Real redis-server and tstun processes on free ports; once straight to the instances,
/// once behind a real HAProxy that balances the rendezvous round robin and gives each instance a
/// port of its own for its relay (alternate-server style), all with the PROXY protocol.
/// </summary>
[Collection(HeavyCollection.Name)]
public sealed class ClusterRelayTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);
    private static readonly IPAddress s_second = IPAddress.Parse("127.0.0.2");
    private static readonly IPAddress s_third = IPAddress.Parse("127.0.0.3");

    private static string Text(IPEndPoint endPoint) => endPoint.ToString();

    [SkippableTheory(Timeout = 120_000)]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_v2_pair_across_instances_gets_candidates_and_tokens_for_one_relay_where_its_legs_meet(bool haproxy)
    {
        using var redis = await RedisServer.StartAsync();
        // Each instance's relay address: its own listener, or its own port on HAProxy.
        IPEndPoint[] listen = [new(IPAddress.Loopback, LocalPorts.Free()), new(IPAddress.Loopback, LocalPorts.Free())];
        IPEndPoint[] relayAt = haproxy ? [new(IPAddress.Loopback, LocalPorts.Free()), new(IPAddress.Loopback, LocalPorts.Free())] : listen;
        string[] proxy = haproxy ? ["--proxy-protocol", "--trusted-proxy", "127.0.0.1/32"] : [];
        var instances = new ServerProcess[2];
        HaproxyProcess? balancer = null;
        try
        {
            for (int i = 0; i < 2; i++)
            {
                instances[i] = ServerProcess.Start(Scale.ServerExecutable, ["--port", listen[i].Port.ToString(CultureInfo.InvariantCulture),
                    "--bind", "127.0.0.1", "--stats-interval", "0", "--redis", redis.Configuration,
                    "--relay", "--relay-mbit", "0", "--relay-address", Text(relayAt[i]), .. proxy]);
            }
            foreach (var instance in instances)
            {
                await instance.WaitUntilListeningAsync();
                await instance.WaitForLineAsync("redis: instance");
            }
            IPEndPoint[] rendezvous = listen;
            if (haproxy)
            {
                balancer = await HaproxyProcess.StartAsync(listen, ProxyVersion.V2, direct: relayAt);
                rendezvous = [balancer.Frontend, balancer.Frontend];
            }

            // The first client waits on one instance; the second reaches the other (round robin, or
            // by address) and claims it through Redis.
            var key = Version2Client.NewKey();
            using var a = await Version2Client.ConnectAsync(rendezvous[0], key, s_second);
            await a.OfferAsync(ClientFlags.RelayOk, "10.0.0.5 41234");
            await WaitingOnAsync(instances);
            using var b = await Version2Client.ConnectAsync(rendezvous[1], key, s_third);
            await b.OfferAsync(ClientFlags.RelayOk, "192.168.1.7 39001", "2001:db8::7 39001");
            var answers = await Task.WhenAll(a.ReadPeerAsync(Wait), b.ReadPeerAsync(Wait));
            var (forA, forB) = (answers[0], answers[1]);

            // Each is told the other's real address (not HAProxy's) and candidates, as a local pair would be.
            Assert.Equal(Pairing.Observed(b.Client), Describe(forA.Peer));
            Assert.Equal(Pairing.Observed(a.Client), Describe(forB.Peer));
            Assert.Equal(["192.168.1.7 39001", "2001:db8::7 39001"], forA.Candidates.Select(Describe));
            Assert.Equal(["10.0.0.5 41234"], forB.Candidates.Select(Describe));

            // Two different tokens, both for one instance's relay (the instance whose client was
            // registered in Redis first), named in the lines.
            Assert.False(forA.Token.IsEmpty || forB.Token.IsEmpty, $"no relay token: '{forA.Line}' / '{forB.Line}'");
            Assert.NotEqual(forA.Token, forB.Token);
            Assert.Equal(forA.RelayAt, forB.RelayAt);
            int waiterIndex = Array.FindIndex(relayAt, r => PeerAddress.FromEndPoint(r) == forA.RelayAt);
            Assert.True(waiterIndex >= 0, $"the relay named is neither instance's: '{forA.Line}'");
            var relay = relayAt[waiterIndex];
            // One client reached each instance.
            Assert.All(await Task.WhenAll(instances.Select(async i => (await i.StatsAsync())["accepted"])), n => Assert.Equal(1, n));
            Assert.EndsWith($" {forB.Token}@{relay} 10.0.0.5 41234\n", forB.Line, StringComparison.Ordinal);

            // The legs meet there and carry bytes both ways, intact, half-closes passed on.
            var legs = await Task.WhenAll(
                RelayLegClient.ConnectAsync(relay, forA.Token, s_second, Wait),
                RelayLegClient.ConnectAsync(relay, forB.Token, s_third, Wait));
            using var legA = legs[0];
            using var legB = legs[1];
            Assert.Equal("JOINED\n", legA.Status);
            Assert.Equal("JOINED\n", legB.Status);
            byte[] forward = StreamCheck.RandomBytes(4 << 20), backward = StreamCheck.RandomBytes(1 << 20);
            var readsB = StreamCheck.ReadToEndAsync(legB.Socket, Wait);
            var readsA = StreamCheck.ReadToEndAsync(legA.Socket, Wait);
            await Task.WhenAll(StreamCheck.SendAllAsync(legA.Socket, forward, Wait), StreamCheck.SendAllAsync(legB.Socket, backward, Wait));
            Assert.Equal((forward.LongLength, StreamCheck.Digest(forward)), await readsB);
            Assert.Equal((backward.LongLength, StreamCheck.Digest(backward)), await readsA);

            var waiterStats = await instances[waiterIndex].StatsAsync();
            var otherStats = await instances[1 - waiterIndex].StatsAsync();
            Assert.Equal(1, waiterStats["cross_paired"]);
            Assert.Equal(1, otherStats["cross_paired"]);
            Assert.Equal(1, waiterStats["relay_offered"]);
            Assert.Equal(1, waiterStats["relay_joined"]);
            Assert.Equal(0, otherStats["relay_offered"] + otherStats["relay_joined"] + otherStats["relay_refused"]);
            Assert.Equal(0, waiterStats["redis_errors"] + otherStats["redis_errors"]);
        }
        finally
        {
            balancer?.Dispose();
            foreach (var instance in instances)
            {
                instance?.Dispose();
            }
        }
    }

    [SkippableFact(Timeout = 120_000)]
    public async Task Without_a_relay_address_a_pair_across_instances_gets_candidates_but_no_token_and_the_operator_is_told()
    {
        using var redis = await RedisServer.StartAsync();
        var instances = new ServerProcess[2];
        try
        {
            var servers = new IPEndPoint[2];
            for (int i = 0; i < 2; i++)
            {
                instances[i] = ServerProcess.Start(Scale.ServerExecutable, "--port", "0", "--bind", "127.0.0.1", "--stats-interval", "0",
                    "--redis", redis.Configuration, "--relay");
            }
            for (int i = 0; i < 2; i++)
            {
                servers[i] = await instances[i].WaitUntilListeningAsync();
                await instances[i].WaitForLineAsync("redis: instance");
                await instances[i].WaitForLineAsync("pairs formed across instances get no relay token without --relay-address");
            }
            var key = Version2Client.NewKey();
            using var a = await Version2Client.ConnectAsync(servers[0], key, s_second);
            await a.OfferAsync(ClientFlags.RelayOk, "10.0.0.5 41234");
            await WaitingOnAsync(instances);
            await Task.Delay(300);
            using var b = await Version2Client.ConnectAsync(servers[1], key, s_third);
            await b.OfferAsync(ClientFlags.RelayOk);
            var answers = await Task.WhenAll(a.ReadPeerAsync(Wait), b.ReadPeerAsync(Wait));
            Assert.Equal($"PEER {Pairing.Observed(b.Client)} -\n", answers[0].Line);
            Assert.Equal($"PEER {Pairing.Observed(a.Client)} - 10.0.0.5 41234\n", answers[1].Line);
            foreach (var instance in instances)
            {
                var stats = await instance.StatsAsync();
                Assert.Equal(1, stats["cross_paired"]);
                Assert.Equal(0, stats["relay_offered"] + stats["relay_unoffered"]);
            }
        }
        finally
        {
            foreach (var instance in instances)
            {
                instance?.Dispose();
            }
        }
    }

    private static string Describe(PeerAddress address) => $"{address.ToIPAddress()} {address.Port}";


    /// <summary>Waits until an instance has a client waiting; returns which.</summary>
    private static async Task<int> WaitingOnAsync(ServerProcess[] instances)
    {
        int found = -1;
        Assert.True(await Pairing.EventuallyAsync(async () =>
        {
            for (int i = 0; i < instances.Length; i++)
            {
                if ((await instances[i].StatsAsync())["waiting"] == 1)
                {
                    found = i;
                    return true;
                }
            }
            return false;
        }, Wait, TimeSpan.FromMilliseconds(20)), "the first client never waited");
        return found;
    }
}
