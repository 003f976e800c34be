using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Punchhole.Protocol.V2;
using Punchhole.Server;
using Punchhole.Tests.Support;

namespace Punchhole.Tests.Server;

/// <summary>
/// tstun --relay on real sockets: tokens at pairing, two legs joined with JOINED, opaque bytes
/// both ways with half-close passed on, a reset passed on, every cap enforced and counted,
/// tokens single-use, and nothing of it when the relay is off.
/// </summary>
public class RelayServerTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);

    private static ServerHost RelayHost(RelayOptions? relay = null) =>
        new(new ServerOptions { Relay = (relay ?? new RelayOptions()) with { Enabled = true } });

    /// <summary>Pairs two v2 clients with <paramref name="first"/> and <paramref name="second"/> flags; their PEER lines.</summary>
    private static async Task<(PeerAnswer First, PeerAnswer Second)> PairAsync(
        IPEndPoint server, ClientFlags first = ClientFlags.RelayOk, ClientFlags second = ClientFlags.RelayOk, string expectedFlags = "relay")
    {
        var key = Version2Client.NewKey();
        using var a = await Version2Client.ConnectAsync(server, key);
        using var b = await Version2Client.ConnectAsync(server, key, IPAddress.Parse("127.0.0.2"));
        Assert.Equal(a.ExpectedHello(expectedFlags), a.Hello);
        await Task.WhenAll(a.OfferAsync(first), b.OfferAsync(second));
        var answers = await Task.WhenAll(a.ReadPeerAsync(Wait), b.ReadPeerAsync(Wait));
        return (answers[0], answers[1]);
    }

    /// <summary>A pair's two legs, joined.</summary>
    private static async Task<(RelayLegClient First, RelayLegClient Second)> JoinAsync(IPEndPoint server, IPAddress? firstSource = null, IPAddress? secondSource = null)
    {
        var (first, second) = await PairAsync(server);
        Assert.False(first.Token.IsEmpty || second.Token.IsEmpty, "no relay token offered");
        var legs = await Task.WhenAll(
            RelayLegClient.ConnectAsync(server, first.Token, firstSource, Wait),
            RelayLegClient.ConnectAsync(server, second.Token, secondSource, Wait));
        Assert.Equal("JOINED\n", legs[0].Status);
        Assert.Equal("JOINED\n", legs[1].Status);
        return (legs[0], legs[1]);
    }

    [SkippableFact(Timeout = 120_000)]
    public async Task The_tstun_process_relays_64_MiB_each_way_intact_and_passes_each_half_close_on()
    {
        using var server = ServerProcess.Start(ServerProcess.BuiltExecutable, "--port", "0", "--bind", "127.0.0.1", "--relay", "--relay-mbit", "0");
        var endPoint = await server.WaitUntilListeningAsync();
        var (a, b) = await JoinAsync(endPoint);
        using var first = a;
        using var second = b;
        byte[] forward = StreamCheck.RandomBytes(64 << 20), backward = StreamCheck.RandomBytes(64 << 20);
        var transfer = TimeSpan.FromSeconds(90);

        // The first leg finishes sending at once; the second keeps sending after it has seen that EOF.
        var firstReads = StreamCheck.ReadToEndAsync(first.Socket, transfer);
        var secondReads = StreamCheck.ReadToEndAsync(second.Socket, transfer);
        await StreamCheck.SendAllAsync(first.Socket, forward, transfer);
        Assert.Equal((forward.LongLength, StreamCheck.Digest(forward)), await secondReads);
        Assert.False(firstReads.IsCompleted, "the first leg's read ended before the second leg half-closed");
        await StreamCheck.SendAllAsync(second.Socket, backward, transfer);
        Assert.Equal((backward.LongLength, StreamCheck.Digest(backward)), await firstReads);

        var stats = await server.StatsAsync();
        Assert.True(await Pairing.EventuallyAsync(async () => (stats = await server.StatsAsync())["relay_ended"] == 1, Wait), string.Join(' ', stats));
        Assert.Equal(1, stats["relay_joined"]);
        Assert.Equal(0, stats["relay_aborted"]);
        Assert.Equal(128L << 20, stats["relay_bytes"]);
        Assert.Equal(1, stats["relay_offered"]);
        Assert.Equal(0, stats["relay_active"]);
        ServerProcess.AssertAccountedFor(stats);
    }

    [Fact(Timeout = 30_000)]
    public async Task The_hello_says_relay_and_each_side_gets_its_own_token()
    {
        using var host = RelayHost();
        var (first, second) = await PairAsync(host.EndPoint());
        Assert.False(first.Token.IsEmpty);
        Assert.False(second.Token.IsEmpty);
        Assert.NotEqual(first.Token, second.Token);
        Assert.Equal(1, host.Counters.RelayOffered);
        Assert.Equal(1, host.Server.Relay!.Reservations);
    }

    [Fact(Timeout = 60_000)]
    public async Task Many_pairs_issued_tokens_at_once_all_join_and_carry_their_own_bytes()
    {
        using var host = RelayHost(new RelayOptions { MaxPerIp = 1000 });
        var sessions = await Task.WhenAll(Enumerable.Range(0, 40).Select(_ => Task.Run(() => JoinAsync(host.EndPoint()))));
        try
        {
            // Each session carries a byte of its own each way: no leg was joined to another pair's.
            for (int i = 0; i < sessions.Length; i++)
            {
                await sessions[i].First.Socket.SendAsync(new[] { (byte)i });
                await sessions[i].Second.Socket.SendAsync(new[] { (byte)(i + 100) });
            }
            for (int i = 0; i < sessions.Length; i++)
            {
                var one = new byte[1];
                Assert.Equal(1, await sessions[i].Second.Socket.ReceiveAsync(one));
                Assert.Equal((byte)i, one[0]);
                Assert.Equal(1, await sessions[i].First.Socket.ReceiveAsync(one));
                Assert.Equal((byte)(i + 100), one[0]);
            }
            Assert.Equal(40, host.Counters.RelayJoined);
            Assert.Equal(0, host.Server.Relay!.Reservations);
        }
        finally
        {
            foreach (var (first, second) in sessions)
            {
                first.Dispose();
                second.Dispose();
            }
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task No_token_unless_both_sides_said_relay_ok()
    {
        using var host = RelayHost();
        var (first, second) = await PairAsync(host.EndPoint(), ClientFlags.RelayOk, ClientFlags.None);
        Assert.True(first.Token.IsEmpty && second.Token.IsEmpty);
        Assert.Equal(0, host.Counters.RelayOffered);
        Assert.Equal(0, host.Server.Relay!.Reservations);
    }

    [Fact(Timeout = 30_000)]
    public async Task With_the_relay_off_no_token_is_offered_and_relay_legs_are_refused()
    {
        using var host = new ServerHost();
        var (first, _) = await PairAsync(host.EndPoint(), expectedFlags: "-");
        Assert.True(first.Token.IsEmpty);
        using var leg = await RelayLegClient.ConnectAsync(host.EndPoint(), RelayToken.CreateRandom());
        Assert.Equal("REFUSED off\n", leg.Status);
        var (_, reset) = await leg.Client.ReadToCloseAsync(Wait);
        Assert.False(reset, "the refusal ended with a reset");
        Assert.Equal(1, host.Counters.RelayRefused);
        Assert.True(await ServerHost.EventuallyAsync(() => host.Counters.Active == 0));
        ServerProcess.AssertAccountedFor(ServerProcess.ParseStats(host.Server.Summary()));
    }

    [Fact(Timeout = 30_000)]
    public async Task A_token_the_server_never_issued_is_refused()
    {
        using var host = RelayHost();
        using var leg = await RelayLegClient.ConnectAsync(host.EndPoint(), RelayToken.CreateRandom());
        Assert.Equal("REFUSED token\n", leg.Status);
        Assert.Equal(1, host.Counters.RelayRefused);
    }

    [Fact(Timeout = 30_000)]
    public async Task Tokens_are_single_use()
    {
        using var host = RelayHost();
        var (first, second) = await PairAsync(host.EndPoint());
        var parked = await RelayLegClient.SendKeyAsync(host.EndPoint(), first.Token);
        Assert.True(await ServerHost.EventuallyAsync(() => PhaseCount(host, PartyPhase.RelayLeg) == 1));
        using (var again = await RelayLegClient.ConnectAsync(host.EndPoint(), first.Token))
        {
            Assert.Equal("REFUSED token\n", again.Status);
        }
        var other = await RelayLegClient.SendKeyAsync(host.EndPoint(), second.Token);
        using var a = await RelayLegClient.ReadStatusAsync(parked);
        using var b = await RelayLegClient.ReadStatusAsync(other);
        Assert.Equal("JOINED\n", a.Status);
        Assert.Equal("JOINED\n", b.Status);
        // Joined: both tokens are spent.
        foreach (var token in new[] { first.Token, second.Token })
        {
            using var late = await RelayLegClient.ConnectAsync(host.EndPoint(), token);
            Assert.Equal("REFUSED token\n", late.Status);
        }
        Assert.Equal(3, host.Counters.RelayRefused);
        Assert.Equal(1, host.Counters.RelayJoined);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_reset_on_one_leg_resets_the_other()
    {
        using var host = RelayHost();
        var (a, b) = await JoinAsync(host.EndPoint());
        using var second = b;
        await a.Client.SendAsync(new byte[1000]);
        var buffer = new byte[1000];
        int got = 0;
        while (got < buffer.Length)
        {
            got += await second.Socket.ReceiveAsync(buffer.AsMemory(got), SocketFlags.None);
        }
        a.Client.Abort();
        var (_, reset) = await second.Client.ReadToCloseAsync(Wait);
        Assert.True(reset, "the other leg got a FIN, not a reset");
        Assert.True(await ServerHost.EventuallyAsync(() => host.Counters.RelayEnded == 1));
        Assert.Equal(1, host.Counters.RelayAborted);
        Assert.True(await ServerHost.EventuallyAsync(() => host.Counters.Active == 0));
        ServerProcess.AssertAccountedFor(ServerProcess.ParseStats(host.Server.Summary()));
    }

    [Fact(Timeout = 30_000)]
    public async Task A_leg_whose_partner_never_comes_is_closed_at_the_bound_and_the_late_partner_refused()
    {
        using var host = RelayHost(new RelayOptions { JoinTimeout = TimeSpan.FromSeconds(1) });
        var (first, second) = await PairAsync(host.EndPoint());
        var clock = Stopwatch.StartNew();
        using var lonely = await RelayLegClient.ConnectAsync(host.EndPoint(), first.Token, wait: Wait);
        Assert.Equal("REFUSED timeout\n", lonely.Status);
        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(0.9), TimeSpan.FromSeconds(5));
        Assert.Equal(1, host.Counters.RelayLegTimeouts);
        using var late = await RelayLegClient.ConnectAsync(host.EndPoint(), second.Token);
        Assert.Equal("REFUSED token\n", late.Status);
        Assert.True(await ServerHost.EventuallyAsync(() => host.Counters.Active == 0));
        ServerProcess.AssertAccountedFor(ServerProcess.ParseStats(host.Server.Summary()));
    }

    [Fact(Timeout = 30_000)]
    public async Task Past_relay_max_a_new_session_is_refused_busy()
    {
        using var host = RelayHost(new RelayOptions { MaxSessions = 1 });
        var (a, b) = await JoinAsync(host.EndPoint());
        using var first = a;
        using var second = b;
        var (third, fourth) = await PairAsync(host.EndPoint());
        using var refused = await RelayLegClient.ConnectAsync(host.EndPoint(), third.Token);
        Assert.Equal("REFUSED busy\n", refused.Status);
        Assert.Equal(1, host.Counters.RelayRejectedBusy);
        // The refused leg did not spend its token: once the first session ends, it can still be used.
        first.Client.Dispose();
        second.Client.Dispose();
        Assert.True(await ServerHost.EventuallyAsync(() => host.Counters.RelayEnded == 1));
        var legs = await Task.WhenAll(RelayLegClient.ConnectAsync(host.EndPoint(), third.Token), RelayLegClient.ConnectAsync(host.EndPoint(), fourth.Token));
        Assert.All(legs, leg => Assert.Equal("JOINED\n", leg.Status));
        foreach (var leg in legs)
        {
            leg.Dispose();
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task Past_relay_max_per_ip_a_leg_from_that_address_is_refused()
    {
        using var host = RelayHost(new RelayOptions { MaxPerIp = 1 });
        var source = IPAddress.Parse("127.0.0.3");
        var (a, b) = await JoinAsync(host.EndPoint(), source, IPAddress.Parse("127.0.0.4"));
        using var first = a;
        using var second = b;
        var (third, _) = await PairAsync(host.EndPoint());
        using var refused = await RelayLegClient.ConnectAsync(host.EndPoint(), third.Token, source);
        Assert.Equal("REFUSED per-ip\n", refused.Status);
        Assert.Equal(1, host.Counters.RelayRejectedPerIp);
        using var other = await RelayLegClient.SendKeyAsync(host.EndPoint(), third.Token, IPAddress.Parse("127.0.0.5"));
        Assert.True(await ServerHost.EventuallyAsync(() => PhaseCount(host, PartyPhase.RelayLeg) == 1), "a leg from another address was not parked");
    }

    [Fact(Timeout = 30_000)]
    public async Task Past_the_byte_cap_both_legs_are_reset_and_it_is_counted()
    {
        using var host = RelayHost(new RelayOptions { MaxBytes = 1 << 20, BytesPerSecond = 0 });
        var (a, b) = await JoinAsync(host.EndPoint());
        using var first = a;
        using var second = b;
        var reading = StreamCheck.DrainAsync(second.Socket, Wait);
        try
        {
            await first.Client.SendAsync(new byte[2 << 20]);
        }
        catch (SocketException)
        {
            // Reset mid-send: that is the cap.
        }
        Assert.True(await ServerHost.EventuallyAsync(() => host.Counters.RelayBytesCapped == 1));
        Assert.True((await first.Client.ReadToCloseAsync(Wait)).Reset, "the sender's leg was not reset");
        Assert.True((await reading).Reset, "the receiver's leg was not reset");
        Assert.InRange(host.Counters.RelayBytes, 1 << 20, (1 << 20) + 1);
    }

    [Fact(Timeout = 30_000)]
    public async Task Past_the_time_cap_both_legs_are_reset_and_it_is_counted()
    {
        using var host = RelayHost(new RelayOptions { MaxDuration = TimeSpan.FromSeconds(1) });
        var (a, b) = await JoinAsync(host.EndPoint());
        using var first = a;
        using var second = b;
        var clock = Stopwatch.StartNew();
        Assert.True((await first.Client.ReadToCloseAsync(Wait)).Reset);
        Assert.True((await second.Client.ReadToCloseAsync(Wait)).Reset);
        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(0.5), TimeSpan.FromSeconds(5));
        Assert.Equal(1, host.Counters.RelayTimeCapped);
    }

    [Fact(Timeout = 60_000)]
    public async Task The_bandwidth_ceiling_paces_the_relay_and_is_counted()
    {
        const int Rate = 2 << 20, Size = 4 << 20;
        using var host = RelayHost(new RelayOptions { BytesPerSecond = Rate });
        var (a, b) = await JoinAsync(host.EndPoint());
        using var first = a;
        using var second = b;
        byte[] data = StreamCheck.RandomBytes(Size);
        var clock = Stopwatch.StartNew();
        var reading = StreamCheck.ReadToEndAsync(second.Socket, TimeSpan.FromSeconds(30));
        await StreamCheck.SendAllAsync(first.Socket, data, TimeSpan.FromSeconds(30));
        Assert.Equal((data.LongLength, StreamCheck.Digest(data)), await reading);
        // At 2 MiB/s with at most 128 KiB of burst and one 64 KiB overdraft, 4 MiB take at least 1.8 s.
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(1.8), $"4 MiB in {clock.Elapsed.TotalSeconds:0.00} s at a 2 MiB/s ceiling");
        Assert.True(host.Counters.RelayThrottled > 0);
    }

    [Fact(Timeout = 30_000)]
    public async Task Stopping_the_server_resets_relayed_and_parked_legs_at_once()
    {
        using var host = RelayHost();
        var (a, b) = await JoinAsync(host.EndPoint());
        using var first = a;
        using var second = b;
        var (third, _) = await PairAsync(host.EndPoint());
        using var parked = await RelayLegClient.SendKeyAsync(host.EndPoint(), third.Token);
        Assert.True(await ServerHost.EventuallyAsync(() => PhaseCount(host, PartyPhase.RelayLeg) == 1));
        var clock = Stopwatch.StartNew();
        host.Server.Stop();
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"Stop took {clock.Elapsed.TotalSeconds:0.00} s");
        Assert.True((await first.Client.ReadToCloseAsync(Wait)).Reset);
        Assert.True((await second.Client.ReadToCloseAsync(Wait)).Reset);
        Assert.Equal("REFUSED shutdown\n", (await RelayLegClient.ReadStatusAsync(parked, Wait)).Status);
        Assert.True(await ServerHost.EventuallyAsync(() => host.Counters.Active == 0));
    }

    private static int PhaseCount(ServerHost host, PartyPhase phase) =>
        host.Server.Sessions.All.ToArray().Count(s => RendezvousParty.PhaseOf(s.Word) == phase);
}
