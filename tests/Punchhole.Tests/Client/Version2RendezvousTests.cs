using System.Net;
using System.Net.Sockets;
using Punchhole.Client;
using Punchhole.Client.Punch;
using Punchhole.Client.Rendezvous;
using Punchhole.Protocol;
using Punchhole.Protocol.V2;
using Punchhole.Server;
using Punchhole.Tests.Support;

namespace Punchhole.Tests.Client;

/// <summary>
/// The client's rendezvous on real sockets: a v2 key speaks T-STUN/2 with tstun (own address,
/// the peer's candidates, relay tokens that the relay accepts), and falls back to version 1 on the
/// original server without sending it a byte past the key; v1 keys get the v1 exchange on both.
/// </summary>
public class Version2RendezvousTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);

    /// <summary>One client's side: the port it punches from, and what the server answered it.</summary>
    private sealed record Side(IPEndPoint Local, RendezvousAnswer? Answer);

    /// <summary>Two clients ask <paramref name="server"/> with <paramref name="key"/> from ports of their own; the second once the first waits.</summary>
    private static async Task<(Side First, Side Second)> AskTogetherAsync(
        IPEndPoint server, SessionKey key, ClientFlags first = ClientFlags.None, ClientFlags second = ClientFlags.None, Func<bool>? firstWaits = null)
    {
        using var deadline = new CancellationTokenSource(Wait);
        using var a = LocalPort.Reserve(null, AddressFamily.InterNetwork);
        using var b = LocalPort.Reserve(null, AddressFamily.InterNetwork);
        var asking = Registration.AskAsync(server, a.EndPoint, key, () => { }, deadline.Token, first);
        Assert.True(await ServerHost.EventuallyAsync(firstWaits ?? (() => true)), "the first client is not waiting");
        var answers = await Task.WhenAll(asking, Registration.AskAsync(server, b.EndPoint, key, () => { }, deadline.Token, second));
        return (new Side(a.EndPoint, answers[0]), new Side(b.EndPoint, answers[1]));
    }

    private static SessionKey NewVersion2Key() => SessionKey.Read(Version2Client.NewKey());

    /// <summary>Where tstun (on loopback) sees a client bound to the wildcard address at its port.</summary>
    private static IPEndPoint Seen(Side side) => new(IPAddress.Loopback, side.Local.Port);

    private static IPEndPoint[] CandidatesOf(Side side) =>
        [.. LocalCandidates.Of(side.Local, Seen(side)).Select(c => c.ToEndPoint(AddressFamily.InterNetwork))];

    [Fact(Timeout = 30_000)]
    public async Task Two_v2_clients_learn_their_own_address_and_each_other_with_candidates_through_tstun()
    {
        using var host = new ServerHost();
        var (first, second) = await AskTogetherAsync(host.EndPoint(), NewVersion2Key(), firstWaits: () => host.Server.Table.Count == 1);

        foreach (var (me, peer) in new[] { (first, second), (second, first) })
        {
            var answer = me.Answer!;
            Assert.Equal(ServerKind.Version2, answer.Server);
            Assert.Equal(Seen(peer), answer.Peer);
            Assert.Equal(Seen(me), answer.Observed);
            Assert.False(answer.RelayOffered);
            Assert.True(answer.Token.IsEmpty);
            Assert.Equal(CandidatesOf(peer), answer.Candidates);
            Assert.All(answer.Candidates, c => Assert.Equal(peer.Local.Port, c.Port));
            Assert.All(answer.Candidates, c => Assert.False(IPAddress.IsLoopback(c.Address) || c.Address.IsIPv6LinkLocal, $"{c} offered"));
        }
        Assert.Equal(2, host.Counters.Version2Clients);
        Assert.Equal(0, host.Counters.BadLines);
        Assert.Equal(1, host.Counters.Pairs);
    }

    [Fact(Timeout = 30_000)]
    public async Task With_the_relay_on_two_relay_ok_clients_get_tokens_that_join_a_relayed_session()
    {
        using var host = new ServerHost(new ServerOptions { Relay = new RelayOptions { Enabled = true } });
        var (first, second) = await AskTogetherAsync(
            host.EndPoint(), NewVersion2Key(), ClientFlags.RelayOk, ClientFlags.RelayOk, () => host.Server.Table.Count == 1);

        var tokens = new[] { first.Answer!.Token, second.Answer!.Token };
        Assert.True(first.Answer.RelayOffered && second.Answer.RelayOffered, "the hello did not offer the relay");
        Assert.DoesNotContain(tokens, t => t.IsEmpty);
        Assert.NotEqual(tokens[0], tokens[1]);
        var legs = await Task.WhenAll(tokens.Select(t => RelayLegClient.ConnectAsync(host.EndPoint(), t, wait: Wait)));
        try
        {
            Assert.All(legs, leg => Assert.Equal("JOINED\n", leg.Status));
        }
        finally
        {
            Array.ForEach(legs, leg => leg.Dispose());
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task With_the_relay_on_a_client_that_did_not_say_relay_ok_leaves_the_pair_without_tokens()
    {
        using var host = new ServerHost(new ServerOptions { Relay = new RelayOptions { Enabled = true } });
        var (first, second) = await AskTogetherAsync(
            host.EndPoint(), NewVersion2Key(), ClientFlags.RelayOk, ClientFlags.None, () => host.Server.Table.Count == 1);

        Assert.True(first.Answer!.RelayOffered && second.Answer!.RelayOffered, "the hello did not offer the relay");
        Assert.True(first.Answer.Token.IsEmpty && second.Answer.Token.IsEmpty, "a token for a client that did not say relay-ok");
        Assert.Equal(Seen(second), first.Answer.Peer);
    }

    [Fact(Timeout = 30_000)]
    public async Task On_the_original_server_v2_clients_pair_as_v1_and_send_nothing_past_the_key()
    {
        using var original = new OriginalServer();
        var (first, second) = await AskTogetherAsync(original.EndPoint, NewVersion2Key());

        Assert.Equal(RendezvousAnswer.Version1(Seen(second)), first.Answer);
        Assert.Equal(RendezvousAnswer.Version1(Seen(first)), second.Answer);
        Assert.Empty(first.Answer!.Candidates);
        Assert.Equal(0, original.SentMoreThanTheKey);
    }

    [Fact(Timeout = 30_000)]
    public async Task V1_keys_get_ADDR_PORT_from_tstun_and_from_the_original_server()
    {
        var key = KeyPhrase.Derive($"phrase {Guid.NewGuid()}");
        using var host = new ServerHost();
        var (first, second) = await AskTogetherAsync(host.EndPoint(), key, ClientFlags.RelayOk, ClientFlags.RelayOk, () => host.Server.Table.Count == 1);
        Assert.Equal(RendezvousAnswer.Version1(Seen(second)), first.Answer);
        Assert.Equal(RendezvousAnswer.Version1(Seen(first)), second.Answer);
        Assert.Equal(0, host.Counters.Version2Clients);

        using var original = new OriginalServer();
        (first, second) = await AskTogetherAsync(original.EndPoint, key);
        Assert.Equal(RendezvousAnswer.Version1(Seen(second)), first.Answer);
        Assert.Equal(0, original.SentMoreThanTheKey);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_v2_wait_that_tstun_ends_without_a_peer_is_no_answer_so_the_client_asks_again()
    {
        using var host = new ServerHost(new ServerOptions { WaitTimeout = TimeSpan.FromMilliseconds(500) });
        using var deadline = new CancellationTokenSource(Wait);
        using var port = LocalPort.Reserve(null, AddressFamily.InterNetwork);
        Assert.Null(await Registration.AskAsync(host.EndPoint(), port.EndPoint, NewVersion2Key(), () => { }, deadline.Token));
        Assert.Equal(1, host.Counters.TimedOut);
        Assert.Equal(0, host.Counters.BadLines);
    }
}

/// <summary>The client's relay leg against tstun --relay: joined legs carry bytes both ways; each refusal is said in words.</summary>
public class RelayLegTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);

    private static async Task<RelayToken[]> TokensAsync(IPEndPoint server)
    {
        using var deadline = new CancellationTokenSource(Wait);
        using var a = LocalPort.Reserve(null, AddressFamily.InterNetwork);
        using var b = LocalPort.Reserve(null, AddressFamily.InterNetwork);
        var key = SessionKey.Read(Version2Client.NewKey());
        var answers = await Task.WhenAll(
            Registration.AskAsync(server, a.EndPoint, key, () => { }, deadline.Token, ClientFlags.RelayOk),
            Registration.AskAsync(server, b.EndPoint, key, () => { }, deadline.Token, ClientFlags.RelayOk));
        return [answers[0]!.Token, answers[1]!.Token];
    }

    [Fact(Timeout = 30_000)]
    public async Task Two_legs_join_and_carry_bytes_both_ways_and_a_spent_token_is_refused()
    {
        using var host = new ServerHost(new ServerOptions { Relay = new RelayOptions { Enabled = true } });
        var tokens = await TokensAsync(host.EndPoint());
        using var deadline = new CancellationTokenSource(Wait);
        var legs = await Task.WhenAll(tokens.Select(t => RelayLeg.JoinAsync(host.EndPoint(), t, deadline.Token)));
        using var first = legs[0];
        using var second = legs[1];
        // Sent at once after JOINED: none of it may have been taken with the status line.
        await first.SendAsync("to the second"u8.ToArray(), SocketFlags.None, deadline.Token);
        await second.SendAsync("to the first"u8.ToArray(), SocketFlags.None, deadline.Token);
        Assert.Equal("to the second", await ReadAsync(second, 13, deadline.Token));
        Assert.Equal("to the first", await ReadAsync(first, 12, deadline.Token));

        var refused = await Assert.ThrowsAsync<ClientFailure>(() => RelayLeg.JoinAsync(host.EndPoint(), tokens[0], deadline.Token));
        Assert.Equal("the T-STUN server refused to relay: this side's relay token is unknown, expired or used", refused.Message);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_server_without_the_relay_refuses_the_leg_in_words()
    {
        using var host = new ServerHost();
        using var deadline = new CancellationTokenSource(Wait);
        var refused = await Assert.ThrowsAsync<ClientFailure>(() => RelayLeg.JoinAsync(host.EndPoint(), RelayToken.CreateRandom(), deadline.Token));
        Assert.Equal("the T-STUN server refused to relay: it does not relay", refused.Message);
    }

    private static async Task<string> ReadAsync(Socket socket, int count, CancellationToken deadline)
    {
        var buffer = new byte[count];
        int read = 0, n;
        while (read < count && (n = await socket.ReceiveAsync(buffer.AsMemory(read), SocketFlags.None, deadline)) > 0)
        {
            read += n;
        }
        return System.Text.Encoding.ASCII.GetString(buffer, 0, read);
    }
}
