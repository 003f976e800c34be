using System.Net;
using System.Text;
using Punchhole.Protocol;
using Punchhole.Protocol.V2;
using Punchhole.Server;
using Punchhole.Tests.Support;

namespace Punchhole.Tests.Server;

/// <summary>
/// T-STUN/2 on tstun, with raw test clients on real sockets: the hello carries the client's own
/// observed address, candidates cross over in the PEER lines, a bad CAND line is closed and counted,
/// v1 and v2 never meet, the liveness check holds for v2 waiters, and exclusive registration.
/// </summary>
public class Version2Tests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    [Fact(Timeout = 30_000)]
    public async Task Two_v2_clients_get_their_own_address_then_each_other_with_the_candidates()
    {
        using var host = new ServerHost();
        var key = Version2Client.NewKey();
        using var first = await Version2Client.ConnectAsync(host.EndPoint(), key);
        Assert.Equal(first.ExpectedHello("-"), first.Hello);
        await first.OfferAsync(ClientFlags.None, "10.0.0.5 41234", "2001:db8::5 41234");
        Assert.True(await ServerHost.EventuallyAsync(() => host.Server.Table.Count == 1));

        using var second = await Version2Client.ConnectAsync(host.EndPoint(), key, IPAddress.Parse("127.0.0.2"));
        Assert.Equal(second.ExpectedHello("-"), second.Hello);
        await second.OfferAsync(ClientFlags.RelayOk, "192.168.1.9 5000");

        var toFirst = await first.ReadPeerAsync(Wait);
        var toSecond = await second.ReadPeerAsync(Wait);
        Assert.Equal($"PEER {Pairing.Observed(second.Client)} - 192.168.1.9 5000\n", toFirst.Line);
        Assert.Equal($"PEER {Pairing.Observed(first.Client)} - 10.0.0.5 41234 2001:db8::5 41234\n", toSecond.Line);
        Assert.True(toFirst.Token.IsEmpty && toSecond.Token.IsEmpty, "a token without the relay");
        Assert.Equal(1, host.Counters.Pairs);
        Assert.Equal(2, host.Counters.Version2Clients);
        Assert.True(await ServerHost.EventuallyAsync(() => host.Counters.Active == 0));
        ServerProcess.AssertAccountedFor(ServerProcess.ParseStats(host.Server.Summary()));
    }

    [Fact(Timeout = 30_000)]
    public async Task Eight_candidates_of_the_longest_form_cross_over_whole()
    {
        using var host = new ServerHost();
        var key = Version2Client.NewKey();
        string[] longest = [.. Enumerable.Range(0, TStun2.MaxCandidates).Select(i => $"ffff:ffff:ffff:ffff:ffff:ffff:ffff:fff{i} 6553{i % 6}")];
        using var first = await Version2Client.ConnectAsync(host.EndPoint(), key);
        await first.OfferAsync(ClientFlags.RelayOk | ClientFlags.Exclusive, longest);
        Assert.True(await ServerHost.EventuallyAsync(() => host.Server.Table.Count == 1));
        using var second = await Version2Client.ConnectAsync(host.EndPoint(), key);
        await second.OfferAsync(ClientFlags.None, longest);
        var answer = await second.ReadPeerAsync(Wait);
        Assert.Equal(longest.Select(Version2Client.ParseEndpoint), answer.Candidates);
        Assert.Equal(longest.Select(Version2Client.ParseEndpoint), (await first.ReadPeerAsync(Wait)).Candidates);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_v1_client_and_a_v2_client_never_meet()
    {
        using var host = new ServerHost(new ServerOptions { WaitTimeout = TimeSpan.FromSeconds(1) });
        var v2Key = Version2Client.NewKey();
        // The v1 key shares the v2 key's 24 name bytes: still another key, so still no pair.
        var v1Key = (byte[])v2Key.Clone();
        v1Key[7] = (byte)'1';
        using var v1 = await host.ConnectAsync();
        await v1.SendKeyAsync(v1Key);
        using var v2 = await Version2Client.ConnectAsync(host.EndPoint(), v2Key);
        await v2.OfferAsync(ClientFlags.None);

        Assert.Equal("", await v1.ReadToEndAsync(Wait));
        Assert.Equal("", await v2.Client.ReadToEndAsync(Wait));
        Assert.Equal(0, host.Counters.Pairs);
        Assert.Equal(2, host.Counters.TimedOut);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_v1_client_gets_only_ADDR_PORT_even_with_v2_clients_pairing_beside_it()
    {
        using var host = new ServerHost();
        var v1Key = RendezvousClient.NewKey();
        var v2Key = Version2Client.NewKey();
        using var v1a = await host.ConnectAsync();
        using var v2a = await Version2Client.ConnectAsync(host.EndPoint(), v2Key);
        await v1a.SendKeyAsync(v1Key);
        await v2a.OfferAsync(ClientFlags.RelayOk, "10.1.1.1 1000");
        using var v1b = await host.ConnectAsync();
        using var v2b = await Version2Client.ConnectAsync(host.EndPoint(), v2Key);
        await v1b.SendKeyAsync(v1Key);
        await v2b.OfferAsync(ClientFlags.None);

        Assert.Equal(Pairing.Observed(v1b), await v1a.ReadToEndAsync(Wait));
        Assert.Equal(Pairing.Observed(v1a), await v1b.ReadToEndAsync(Wait));
        Assert.StartsWith("PEER ", (await v2a.ReadPeerAsync(Wait)).Line, StringComparison.Ordinal);
        Assert.StartsWith("PEER ", (await v2b.ReadPeerAsync(Wait)).Line, StringComparison.Ordinal);
        Assert.Equal(2, host.Counters.Pairs);
    }

    [Fact(Timeout = 60_000)]
    public async Task The_original_client_on_the_tstun_process_with_the_relay_on_gets_only_ADDR_PORT_in_its_one_recv()
    {
        using var server = ServerProcess.Start(ServerProcess.BuiltExecutable, "--port", "0", "--bind", "127.0.0.1", "--relay");
        var endPoint = await server.WaitUntilListeningAsync();
        var v1Key = RendezvousClient.NewKey();
        var v2Key = Version2Client.NewKey();

        // The first original client waits while a v2 pair that asks for the relay is made beside it.
        var waiter = OriginalClient.RendezvousAsync(endPoint, v1Key, IPAddress.Parse("127.0.0.3"), Wait);
        Assert.True(await Pairing.EventuallyAsync(async () => (await server.StatsAsync())["waiting"] == 1, Wait), "the original client never waited");
        using var v2a = await Version2Client.ConnectAsync(endPoint, v2Key);
        using var v2b = await Version2Client.ConnectAsync(endPoint, v2Key, IPAddress.Parse("127.0.0.2"));
        Assert.Equal(v2a.ExpectedHello("relay"), v2a.Hello);
        await Task.WhenAll(v2a.OfferAsync(ClientFlags.RelayOk, "10.0.0.5 41234"), v2b.OfferAsync(ClientFlags.RelayOk, "10.0.0.6 41235"));
        var peers = await Task.WhenAll(v2a.ReadPeerAsync(Wait), v2b.ReadPeerAsync(Wait));
        Assert.False(peers[0].Token.IsEmpty || peers[1].Token.IsEmpty, "the v2 pair got no relay token");

        var arrival = await OriginalClient.RendezvousAsync(endPoint, v1Key, IPAddress.Parse("127.0.0.4"), Wait);
        var waited = await waiter;
        foreach (var (mine, theirs) in new[] { (waited, arrival), (arrival, waited) })
        {
            string expected = $"{theirs.Local.Address} {theirs.Local.Port}";
            // Exactly ADDR PORT in the one recv: no newline, no line of v2, nothing the original would cut.
            Assert.Equal(expected, mine.Received);
            Assert.Equal(expected, mine.Used);
        }
        var stats = await server.StatsAsync();
        Assert.Equal(2, stats["paired"]);
        Assert.Equal(2, stats["v2_clients"]);
        Assert.Equal(1, stats["relay_offered"]);
    }

    public static TheoryData<string, string> BadLines() => new()
    {
        { "no flags", "CAND\n" },
        { "lower case", "cand -\n" },
        { "an address without its port", "CAND - 10.0.0.1\n" },
        { "a leading zero in an octet", "CAND - 010.0.0.1 80\n" },
        { "a port with a leading zero", "CAND - 10.0.0.1 080\n" },
        { "port 0", "CAND - 10.0.0.1 0\n" },
        { "port 65536", "CAND - 10.0.0.1 65536\n" },
        { "IPv6 not in its canonical form", "CAND - 2001:DB8::1 80\n" },
        { "an IPv4-mapped address not as a dotted quad", "CAND - ::ffff:10.0.0.1 80\n" },
        { "a host name", "CAND - host.example 80\n" },
        { "two spaces", "CAND -  10.0.0.1 80\n" },
        { "a trailing space", "CAND - \n" },
        { "CR LF", "CAND -\r\n" },
        { "an unknown flag word with a capital", "CAND Relay-ok\n" },
        { "an empty flag word", "CAND relay-ok,\n" },
        { "nine candidates", "CAND -" + string.Concat(Enumerable.Repeat(" 10.0.0.1 80", 9)) + "\n" },
        { "bytes after the line", "CAND -\nCAND -\n" },
        { "no LF before EOF", "CAND - 10.0.0.1 80" },
        { "no LF in 512 bytes", "CAND - " + new string('x', 600) },
        { "a NUL", "CAND -\0\n" },
        { "nothing at all", "" },
    };

    [Theory(Timeout = 30_000)]
    [MemberData(nameof(BadLines))]
    public async Task A_bad_candidate_line_is_closed_with_no_reply_and_counted(string what, string line)
    {
        using var host = new ServerHost();
        using var client = await Version2Client.ConnectAsync(host.EndPoint(), Version2Client.NewKey());
        await client.SendLineAsync(line);
        var (text, _) = await client.Client.ReadToCloseAsync(Wait);
        Assert.True(text == "", $"{what}: got '{text}'");
        Assert.Equal(1, host.Counters.BadLines);
        Assert.Equal(0, host.Server.Table.Count);
        Assert.True(await ServerHost.EventuallyAsync(() => host.Counters.Active == 0));
        ServerProcess.AssertAccountedFor(ServerProcess.ParseStats(host.Server.Summary()));
    }

    [Fact(Timeout = 30_000)]
    public async Task Unknown_flag_words_are_ignored()
    {
        using var host = new ServerHost();
        var key = Version2Client.NewKey();
        using var first = await Version2Client.ConnectAsync(host.EndPoint(), key);
        await first.SendLineAsync("CAND some-future-flag,relay-ok,x2 10.0.0.1 80\n");
        using var second = await Version2Client.ConnectAsync(host.EndPoint(), key);
        await second.OfferAsync(ClientFlags.None);
        Assert.Equal($"PEER {Pairing.Observed(first.Client)} - 10.0.0.1 80\n", (await second.ReadPeerAsync(Wait)).Line);
        Assert.Equal(0, host.Counters.BadLines);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_candidate_line_that_never_comes_is_closed_at_the_key_timeout()
    {
        using var host = new ServerHost(new ServerOptions { KeyTimeout = TimeSpan.FromSeconds(1) });
        using var client = await Version2Client.ConnectAsync(host.EndPoint(), Version2Client.NewKey());
        var clock = System.Diagnostics.Stopwatch.StartNew();
        Assert.Equal("", await client.Client.ReadToEndAsync(Wait));
        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(0.8), TimeSpan.FromSeconds(5));
        Assert.Equal(1, host.Counters.KeyTimedOut);
        Assert.Equal(0, host.Counters.BadLines);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_v2_waiter_killed_after_its_line_is_never_handed_out()
    {
        using var host = new ServerHost();
        var key = Version2Client.NewKey();
        var killed = await Version2Client.ConnectAsync(host.EndPoint(), key);
        await killed.OfferAsync(ClientFlags.None, "10.9.9.9 999");
        Assert.True(await ServerHost.EventuallyAsync(() => host.Server.Table.Count == 1));
        // Its process dies: the kernel closes the socket, and as the FIN went out already, nothing more is sent.
        killed.Dispose();

        using var restarted = await Version2Client.ConnectAsync(host.EndPoint(), key);
        await restarted.OfferAsync(ClientFlags.None, "10.1.1.1 1111");
        Assert.True(await restarted.Client.StaysSilentAsync(TimeSpan.FromMilliseconds(500)), "the restarted client was handed the killed one");
        Assert.True(await ServerHost.EventuallyAsync(() => host.Counters.DeadWaiters == 1 && host.Server.Table.Count == 1));

        using var partner = await Version2Client.ConnectAsync(host.EndPoint(), key);
        await partner.OfferAsync(ClientFlags.None, "10.2.2.2 2222");
        Assert.Equal($"PEER {Pairing.Observed(partner.Client)} - 10.2.2.2 2222\n", (await restarted.ReadPeerAsync(Wait)).Line);
        Assert.Equal($"PEER {Pairing.Observed(restarted.Client)} - 10.1.1.1 1111\n", (await partner.ReadPeerAsync(Wait)).Line);
        Assert.Equal(1, host.Counters.Pairs);
    }

    [Fact(Timeout = 30_000)]
    public async Task An_exclusive_registration_gets_COLLISION_when_its_key_is_taken_and_the_waiter_is_left_alone()
    {
        using var host = new ServerHost();
        var key = Version2Client.NewKey();
        using var waiter = await Version2Client.ConnectAsync(host.EndPoint(), key);
        await waiter.OfferAsync(ClientFlags.Exclusive);
        Assert.True(await ServerHost.EventuallyAsync(() => host.Server.Table.Count == 1));

        using var generator = await Version2Client.ConnectAsync(host.EndPoint(), key);
        await generator.OfferAsync(ClientFlags.Exclusive | ClientFlags.RelayOk, "10.3.3.3 3333");
        var (text, reset) = await generator.Client.ReadToCloseAsync(Wait);
        Assert.Equal("COLLISION\n", text);
        Assert.False(reset, "COLLISION ended with a reset, not a FIN");
        Assert.Equal(1, host.Counters.Collisions);
        Assert.True(await waiter.Client.StaysSilentAsync(TimeSpan.FromMilliseconds(200)));
        Assert.Equal(1, host.Server.Table.Count);

        using var joiner = await Version2Client.ConnectAsync(host.EndPoint(), key);
        await joiner.OfferAsync(ClientFlags.None);
        Assert.Equal(Pairing.Observed(joiner.Client), (await waiter.ReadPeerAsync(Wait)).Line.Split(' ', 2)[1].TrimEnd('\n', ' ', '-'));
        Assert.StartsWith($"PEER {Pairing.Observed(waiter.Client)} ", (await joiner.ReadPeerAsync(Wait)).Line, StringComparison.Ordinal);
        Assert.Equal(1, host.Counters.Pairs);
        Assert.True(await ServerHost.EventuallyAsync(() => host.Counters.Active == 0));
        ServerProcess.AssertAccountedFor(ServerProcess.ParseStats(host.Server.Summary()));
    }

    [Fact(Timeout = 30_000)]
    public async Task An_exclusive_registration_with_a_free_key_waits_and_pairs()
    {
        using var host = new ServerHost();
        var key = Version2Client.NewKey();
        using var generator = await Version2Client.ConnectAsync(host.EndPoint(), key);
        await generator.OfferAsync(ClientFlags.Exclusive, "10.4.4.4 4444");
        Assert.True(await ServerHost.EventuallyAsync(() => host.Server.Table.Count == 1));
        using var typed = await Version2Client.ConnectAsync(host.EndPoint(), key);
        await typed.OfferAsync(ClientFlags.None);
        Assert.Equal($"PEER {Pairing.Observed(generator.Client)} - 10.4.4.4 4444\n", (await typed.ReadPeerAsync(Wait)).Line);
        Assert.Equal($"PEER {Pairing.Observed(typed.Client)} -\n", (await generator.ReadPeerAsync(Wait)).Line);
        Assert.Equal(0, host.Counters.Collisions);
    }

    [Fact(Timeout = 60_000)]
    public async Task Many_v2_pairs_at_once_all_get_each_others_candidates()
    {
        using var host = new ServerHost();
        var errors = new System.Collections.Concurrent.ConcurrentBag<string>();
        using var gate = new SemaphoreSlim(50);
        await ManyClients.RunAsync(500, async i =>
        {
            await gate.WaitAsync();
            try
            {
                var key = Version2Client.NewKey();
                using var a = await Version2Client.ConnectAsync(host.EndPoint(), key, Pairing.Source(1, 8, 2 * i));
                using var b = await Version2Client.ConnectAsync(host.EndPoint(), key, Pairing.Source(1, 8, 2 * i + 1));
                string ca = $"10.{i % 256}.0.1 {1000 + i}", cb = $"10.{i % 256}.0.2 {2000 + i}";
                await Task.WhenAll(a.OfferAsync(ClientFlags.None, ca), b.OfferAsync(ClientFlags.None, cb));
                var answers = await Task.WhenAll(a.ReadPeerAsync(Wait), b.ReadPeerAsync(Wait));
                if (answers[0].Line != $"PEER {Pairing.Observed(b.Client)} - {cb}\n" || answers[1].Line != $"PEER {Pairing.Observed(a.Client)} - {ca}\n")
                {
                    errors.Add($"{answers[0].Line.Trim()} / {answers[1].Line.Trim()}");
                }
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
        Assert.True(errors.IsEmpty, string.Join("\n", errors.Take(5)));
        Assert.Equal(500, host.Counters.Pairs);
    }

    [Fact(Timeout = 30_000)]
    public async Task Two_v2_clients_on_the_original_server_pair_in_v1_and_end_with_a_FIN()
    {
        using var original = new OriginalServer();
        var key = Version2Client.NewKey();
        using var first = await RendezvousClient.ConnectAsync(original.EndPoint);
        using var second = await RendezvousClient.ConnectAsync(original.EndPoint, IPAddress.Parse("127.0.0.2"));
        // A v2 client sends its 32 bytes and nothing more until it sees a hello: none comes here.
        await first.SendKeyAsync(key, halfClose: false);
        await second.SendKeyAsync(key, halfClose: false);

        var replies = await Task.WhenAll(first.ReadToCloseAsync(Wait), second.ReadToCloseAsync(Wait));
        foreach (var (text, reset) in replies)
        {
            Assert.False(reset, $"the original server reset the connection after '{text}'");
            Assert.Equal(Greeting.NotHello, Hello.Identify(Encoding.ASCII.GetBytes(text)));
            Assert.True(PeerReply.TryParse(Encoding.ASCII.GetBytes(text), out _), text);
        }
        Assert.Equal(Pairing.Observed(second), replies[0].Text);
        Assert.Equal(Pairing.Observed(first), replies[1].Text);
    }

    [Fact(Timeout = 30_000)]
    public async Task On_the_original_server_a_client_that_sends_past_its_key_can_lose_its_reply_to_a_reset()
    {
        // Why a v2 client waits for the hello before its CAND line: the original server never reads
        // it, and closing with unread data sends a reset.
        using var original = new OriginalServer();
        var key = Version2Client.NewKey();
        using var eager = await RendezvousClient.ConnectAsync(original.EndPoint);
        using var partner = await RendezvousClient.ConnectAsync(original.EndPoint);
        await eager.SendKeyAsync(key, halfClose: false);
        await Task.Delay(100);
        await eager.SendAsync(Encoding.ASCII.GetBytes("CAND -\n"));
        await partner.SendKeyAsync(key);
        var (_, reset) = await eager.ReadToCloseAsync(Wait);
        Assert.True(reset, "the original server closed a connection with unread bytes without a reset");
    }
}
