using System.Net;
using System.Text;
using Punchhole.Protocol;
using Punchhole.Protocol.V2;

namespace Punchhole.Tests.Protocol;

/// <summary>T-STUN/2's wire formats as the protocol library writes and reads them (docs/PROTOCOL.md).</summary>
public class Version2MessagesTests
{
    private static PeerAddress At(string address, int port) => PeerAddress.FromEndPoint(new IPEndPoint(IPAddress.Parse(address), port));

    private static byte[] Ascii(string text) => Encoding.ASCII.GetBytes(text);

    private static string Text(ReadOnlySpan<byte> bytes) => Encoding.ASCII.GetString(bytes);

    [Fact]
    public void Keys_are_told_apart_by_their_first_8_bytes()
    {
        var name = new byte[RendezvousKeys.NameLength];
        new Random(1).NextBytes(name);
        var v2 = new byte[32];
        RendezvousKeys.WriteVersion2(name, v2);
        Assert.Equal("T-STUN/2"u8.ToArray(), v2[..8]);
        Assert.Equal(name, v2[8..]);
        Assert.Equal(KeyForm.Version2, RendezvousKeys.Classify(v2));
        Assert.Equal(RendezvousKeys.Version2(name), SessionKey.Read(v2));

        var leg = new byte[32];
        RelayToken.CreateRandom().WriteLegKey(leg);
        Assert.Equal(KeyForm.RelayLeg, RendezvousKeys.Classify(leg));

        var v1 = new byte[32];
        Sha256.Hash(Ascii("our secret phrase"), v1);
        Assert.Equal(KeyForm.Version1, RendezvousKeys.Classify(v1));
        // One byte off in the prefix is a v1 key.
        v2[7] = (byte)'3';
        Assert.Equal(KeyForm.Version1, RendezvousKeys.Classify(v2));
        Assert.Equal(KeyForm.Version1, RendezvousKeys.Classify(v2.AsSpan(0, 31)));
    }

    [Fact]
    public void A_relay_token_is_32_hex_digits_and_its_leg_key_carries_it_then_8_zero_bytes()
    {
        var token = RelayToken.CreateRandom();
        Assert.False(token.IsEmpty);
        var hex = new byte[RelayToken.HexLength];
        Assert.Equal(32, token.FormatHex(hex));
        Assert.Matches("^[0-9a-f]{32}$", Text(hex));
        Assert.True(RelayToken.TryParseHex(hex, out var parsed) && parsed == token);

        var key = new byte[32];
        token.WriteLegKey(key);
        Assert.Equal("T-STUN/R"u8.ToArray(), key[..8]);
        Assert.Equal(new byte[8], key[24..]);
        Assert.True(RelayToken.TryReadLegKey(key, out var carried) && carried == token);
        Assert.Equal(token.LegKey(), SessionKey.Read(key));

        key[31] = 1;
        Assert.False(RelayToken.TryReadLegKey(key, out _), "a leg key with a non-zero tail");
        Assert.NotEqual(RelayToken.CreateRandom(), token);
    }

    [Theory]
    [InlineData("")]
    [InlineData("0123456789abcdef0123456789abcde")]
    [InlineData("0123456789abcdef0123456789abcdef0")]
    [InlineData("0123456789ABCDEF0123456789abcdef")]
    [InlineData("0123456789abcdeg0123456789abcdef")]
    [InlineData("00000000000000000000000000000000")]
    public void Token_text_that_is_not_32_lower_case_hex_digits_of_a_real_token_is_refused(string text) =>
        Assert.False(RelayToken.TryParseHex(Ascii(text), out _));

    [Theory]
    [InlineData("198.51.100.20", 35943, ServerFlags.None, "T-STUN/2 HELLO 198.51.100.20 35943 -\n")]
    [InlineData("::ffff:198.51.100.20", 1, ServerFlags.Relay, "T-STUN/2 HELLO 198.51.100.20 1 relay\n")]
    [InlineData("2001:db8::7", 40001, ServerFlags.Relay, "T-STUN/2 HELLO 2001:db8::7 40001 relay\n")]
    public void The_hello_names_the_client_and_what_the_server_offers(string address, int port, ServerFlags flags, string expected)
    {
        var line = new byte[TStun2.MaxHelloLength];
        int length = Hello.Format(At(address, port), flags, line);
        Assert.Equal(expected, Text(line.AsSpan(0, length)));
        Assert.True(Hello.TryParse(line.AsSpan(0, length), out var observed, out var parsedFlags));
        Assert.Equal(At(address, port), observed);
        Assert.Equal(flags, parsedFlags);
        Assert.Equal(Greeting.Hello, Hello.Identify(line.AsSpan(0, length)));
    }

    [Fact]
    public void The_longest_hello_fits_its_bound()
    {
        var line = new byte[TStun2.MaxHelloLength];
        int length = Hello.Format(At("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535), ServerFlags.Relay, line);
        Assert.True(length <= TStun2.MaxHelloLength);
        // A newer server's flags, up to the longest flags token, still parse.
        string future = $"T-STUN/2 HELLO ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 relay,{new string('z', TStun2.MaxFlagsLength - 6)}\n";
        Assert.Equal(126, future.Length);
        Assert.True(Hello.TryParse(Ascii(future), out _, out var flags));
        Assert.Equal(ServerFlags.Relay, flags);
    }

    [Theory]
    [InlineData("", Greeting.Incomplete)]
    [InlineData("T", Greeting.Incomplete)]
    [InlineData("T-STUN/2 HELL", Greeting.Incomplete)]
    [InlineData("T-STUN/2 HELLO ", Greeting.Hello)]
    [InlineData("T-STUN/2 HELLO 1.2.3.4 5 -\n", Greeting.Hello)]
    [InlineData("198.51.100.20 35943", Greeting.NotHello)]
    [InlineData("2001:db8::7 40001", Greeting.NotHello)]
    [InlineData("abcd::1 1", Greeting.NotHello)]
    [InlineData("::1 1", Greeting.NotHello)]
    [InlineData("T-STUN/3 HELLO", Greeting.NotHello)]
    public void A_hello_is_told_from_a_v1_reply_by_its_first_bytes(string received, Greeting expected) =>
        Assert.Equal(expected, Hello.Identify(Ascii(received)));

    [Fact]
    public void A_candidate_line_round_trips()
    {
        PeerAddress[] candidates = [At("10.0.0.5", 41234), At("fe80::1", 41234), At("192.168.1.2", 9)];
        var line = new byte[TStun2.MaxCandidateLineLength];
        int length = CandidateLine.Format(ClientFlags.RelayOk | ClientFlags.Exclusive, candidates, line);
        Assert.Equal("CAND relay-ok,exclusive 10.0.0.5 41234 fe80::1 41234 192.168.1.2 9\n", Text(line.AsSpan(0, length)));
        var parsed = new CandidateList();
        Assert.True(CandidateLine.TryParse(line.AsSpan(0, length), out var flags, ref parsed));
        Assert.Equal(ClientFlags.RelayOk | ClientFlags.Exclusive, flags);
        Assert.Equal(candidates, parsed.AsSpan().ToArray());

        Assert.Equal("CAND -\n", Text(line.AsSpan(0, CandidateLine.Format(ClientFlags.None, [], line))));
    }

    [Fact]
    public void The_longest_candidate_line_and_peer_line_fit_their_bounds()
    {
        var longest = Enumerable.Repeat(At("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535), TStun2.MaxCandidates).ToArray();
        var line = new byte[TStun2.MaxPeerLineLength];
        // The longest canonical address text is 39 characters: a dotted quad inside IPv6 is only ever written plain.
        Assert.Equal(438 - TStun2.MaxFlagsLength + "relay-ok,exclusive".Length,
            CandidateLine.Format(ClientFlags.RelayOk | ClientFlags.Exclusive, longest, line));
        Assert.Equal(452, PeerLine.Format(longest[0], RelayToken.CreateRandom(), longest, line));
        // A relay address after the token: '@', brackets, the address, ':' and the port.
        Assert.Equal(500, PeerLine.Format(longest[0], RelayToken.CreateRandom(), longest[0], longest, line));
        Assert.Throws<ArgumentException>(() => CandidateLine.Format(ClientFlags.None, [.. longest, longest[0]], line));
    }

    [Fact]
    public void A_peer_line_carries_the_peer_its_token_or_a_dash_and_its_candidates()
    {
        var token = RelayToken.CreateRandom();
        var line = new byte[TStun2.MaxPeerLineLength];
        int length = PeerLine.Format(At("198.51.100.20", 35943), token, [At("10.0.0.5", 41234)], line);
        Assert.Equal($"PEER 198.51.100.20 35943 {token} 10.0.0.5 41234\n", Text(line.AsSpan(0, length)));
        var candidates = new CandidateList();
        Assert.True(PeerLine.TryParse(line.AsSpan(0, length), out var peer, out var parsed, ref candidates));
        Assert.Equal(At("198.51.100.20", 35943), peer);
        Assert.Equal(token, parsed);
        Assert.Equal([At("10.0.0.5", 41234)], candidates.AsSpan().ToArray());

        length = PeerLine.Format(At("2001:db8::7", 40001), default, [], line);
        Assert.Equal("PEER 2001:db8::7 40001 -\n", Text(line.AsSpan(0, length)));
        Assert.True(PeerLine.TryParse(line.AsSpan(0, length), out _, out parsed, ref candidates));
        Assert.True(parsed.IsEmpty);
        Assert.Equal(0, candidates.Count);
    }

    [Theory]
    [InlineData("198.51.100.7", 3478, "198.51.100.7:3478")]
    [InlineData("2001:db8::7", 3479, "[2001:db8::7]:3479")]
    public void A_token_for_a_relay_elsewhere_carries_that_relays_address(string address, int port, string written)
    {
        var token = RelayToken.CreateRandom();
        var line = new byte[TStun2.MaxPeerLineLength];
        int length = PeerLine.Format(At("198.51.100.20", 35943), token, At(address, port), [At("10.0.0.5", 41234)], line);
        Assert.Equal($"PEER 198.51.100.20 35943 {token}@{written} 10.0.0.5 41234\n", Text(line.AsSpan(0, length)));
        var candidates = new CandidateList();
        Assert.True(PeerLine.TryParse(line.AsSpan(0, length), out var peer, out var parsed, out var relay, ref candidates));
        Assert.Equal(At("198.51.100.20", 35943), peer);
        Assert.Equal(token, parsed);
        Assert.Equal(At(address, port), relay);
        Assert.Equal([At("10.0.0.5", 41234)], candidates.AsSpan().ToArray());

        // Without an address the token is for the server that sent the line.
        length = PeerLine.Format(At("198.51.100.20", 35943), token, [], line);
        Assert.True(PeerLine.TryParse(line.AsSpan(0, length), out _, out parsed, out relay, ref candidates));
        Assert.Equal(token, parsed);
        Assert.Equal(0, relay.Port);
    }

    [Theory]
    [InlineData("@1.2.3.4:0")]
    [InlineData("@1.2.3.4:05")]
    [InlineData("@1.2.3.4")]
    [InlineData("@[1.2.3.4]:5")]
    [InlineData("@2001:db8::7:5")]
    [InlineData("@[2001:DB8::7]:5")]
    [InlineData("@[2001:db8::7]")]
    [InlineData("@")]
    [InlineData("@1.2.3.4:5@1.2.3.4:5")]
    public void Relay_addresses_outside_their_one_spelling_are_refused(string suffix)
    {
        var candidates = new CandidateList();
        string text = $"PEER 1.2.3.4 5 {RelayToken.CreateRandom()}{suffix}\n";
        Assert.False(PeerLine.TryParse(System.Text.Encoding.ASCII.GetBytes(text), out _, out _, out _, ref candidates), text);
    }

    [Theory]
    [InlineData("PEER 1.2.3.4 5 -")]
    [InlineData("PEER 1.2.3.4 5\n")]
    [InlineData("PEER 1.2.3.4 5 x\n")]
    [InlineData("PEER 1.2.3.4 5 - 6.7.8.9\n")]
    [InlineData("PEER 1.2.3.4 5 -- \n")]
    [InlineData("PEER 01.2.3.4 5 -\n")]
    [InlineData("ADDR 1.2.3.4 5 -\n")]
    [InlineData("1.2.3.4 5")]
    [InlineData("COLLISION\n")]
    public void Peer_lines_outside_the_grammar_are_refused(string text)
    {
        var candidates = new CandidateList();
        Assert.False(PeerLine.TryParse(Ascii(text), out _, out _, ref candidates));
        Assert.Equal(0, candidates.Count);
    }

    [Fact]
    public void Collision_and_relay_status_lines()
    {
        Assert.True(Collision.Matches(Ascii("COLLISION\n")));
        Assert.False(Collision.Matches(Ascii("COLLISION")));

        Assert.True(RelayStatus.TryParse(Ascii("JOINED\n"), out bool joined, out _) && joined);
        var line = new byte[TStun2.MaxRelayStatusLength];
        foreach (var reason in Enum.GetValues<RelayRefusal>().Where(r => r != RelayRefusal.Other))
        {
            int length = RelayStatus.FormatRefused(reason, line);
            Assert.Equal($"REFUSED {Text(RelayStatus.Word(reason))}\n", Text(line.AsSpan(0, length)));
            Assert.True(RelayStatus.TryParse(line.AsSpan(0, length), out joined, out var parsed));
            Assert.False(joined);
            Assert.Equal(reason, parsed);
        }
        Assert.True(RelayStatus.TryParse(Ascii("REFUSED maintenance\n"), out _, out var other));
        Assert.Equal(RelayRefusal.Other, other);
        Assert.False(RelayStatus.TryParse(Ascii("REFUSED\n"), out _, out _));
        Assert.False(RelayStatus.TryParse(Ascii("REFUSED Busy\n"), out _, out _));
        Assert.False(RelayStatus.TryParse(Ascii("JOINED"), out _, out _));
    }

    [Fact]
    public void A_candidate_list_holds_at_most_eight()
    {
        var list = new CandidateList();
        for (int i = 0; i < TStun2.MaxCandidates; i++)
        {
            Assert.True(list.TryAdd(At("10.0.0.1", i + 1)));
        }
        Assert.False(list.TryAdd(At("10.0.0.1", 99)));
        Assert.Equal(TStun2.MaxCandidates, list.Count);
        list.Clear();
        Assert.Equal(0, list.AsSpan().Length);
    }
}
