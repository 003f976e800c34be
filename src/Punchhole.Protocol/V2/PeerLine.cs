namespace Punchhole.Protocol.V2;

/// <summary>
/// A T-STUN/2 server's answer once the client is paired: <c>PEER ADDR PORT TOKEN [ADDR PORT]...\n</c>,
/// then FIN. <c>ADDR PORT</c> is the peer's observed address (what v1 replies with); <c>TOKEN</c> is
/// this client's relay token (32 lower-case hex digits), followed by <c>@ADDR:PORT</c> when the relay
/// to present it to is not the server that sent the line, or <c>-</c> when no relay is offered; the
/// rest are the peer's candidates, as the peer sent them. At most <see cref="TStun2.MaxPeerLineLength"/> bytes.
/// </summary>
public static class PeerLine
{
    /// <summary>Writes the line; returns its length. An empty <paramref name="token"/> is written as <c>-</c>.</summary>
    public static int Format(in PeerAddress peer, in RelayToken token, ReadOnlySpan<PeerAddress> candidates, Span<byte> destination) =>
        Format(peer, token, default, candidates, destination);

    /// <summary>
    /// The same, with the relay that <paramref name="token"/> is for when it is not the server
    /// that sends the line (<paramref name="relay"/> with port 0: that server): written <c>TOKEN@ADDR:PORT</c>.
    /// </summary>
    public static int Format(in PeerAddress peer, in RelayToken token, in PeerAddress relay, ReadOnlySpan<PeerAddress> candidates, Span<byte> destination)
    {
        if (candidates.Length > TStun2.MaxCandidates)
        {
            throw new ArgumentException($"At most {TStun2.MaxCandidates} candidates, not {candidates.Length}.", nameof(candidates));
        }
        var line = new LineWriter(destination, TStun2.MaxPeerLineLength);
        line.Word("PEER"u8);
        line.Endpoint(peer);
        line.Token(token, relay);
        foreach (var candidate in candidates)
        {
            line.Endpoint(candidate);
        }
        return line.End();
    }

    /// <summary>
    /// Parses a whole line, its LF included. <paramref name="token"/> is empty when the line offers
    /// no relay; <paramref name="candidates"/> is cleared first.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<byte> line, out PeerAddress peer, out RelayToken token, ref CandidateList candidates) =>
        TryParse(line, out peer, out token, out _, ref candidates);

    /// <summary>
    /// The same; <paramref name="relay"/> is where the token is to be presented, or has port 0 when
    /// the line names no relay address (the token is for the server that sent the line).
    /// </summary>
    public static bool TryParse(ReadOnlySpan<byte> line, out PeerAddress peer, out RelayToken token, out PeerAddress relay, ref CandidateList candidates)
    {
        candidates.Clear();
        token = default;
        relay = default;
        var tokens = new LineTokens(line, TStun2.MaxPeerLineLength);
        if (!tokens.Expect("PEER"u8) || !tokens.TryReadEndpoint(out peer) || !tokens.TryNext(out var tokenText)
            || !(tokenText.SequenceEqual("-"u8) || TryParseToken(tokenText, out token, out relay))
            || !TryReadCandidates(ref tokens, ref candidates))
        {
            peer = default;
            token = default;
            relay = default;
            return false;
        }
        return true;
    }

    /// <summary><c>TOKEN</c> or <c>TOKEN@ADDR:PORT</c>.</summary>
    private static bool TryParseToken(ReadOnlySpan<byte> text, out RelayToken token, out PeerAddress relay)
    {
        relay = default;
        int at = text.IndexOf((byte)'@');
        if (at < 0)
        {
            return RelayToken.TryParseHex(text, out token);
        }
        if (!RelayToken.TryParseHex(text[..at], out token) || !RelayAddressText.TryParse(text[(at + 1)..], out relay))
        {
            token = default;
            relay = default;
            return false;
        }
        return true;
    }

    /// <summary>Reads <c>ADDR PORT</c> pairs to the end of the line, at most <see cref="TStun2.MaxCandidates"/>.</summary>
    internal static bool TryReadCandidates(ref LineTokens tokens, ref CandidateList candidates)
    {
        while (!tokens.AtEnd)
        {
            if (!tokens.TryReadEndpoint(out var candidate) || !candidates.TryAdd(candidate))
            {
                candidates.Clear();
                return false;
            }
        }
        if (!tokens.Complete)
        {
            candidates.Clear();
            return false;
        }
        return true;
    }
}

/// <summary>
/// The server's answer to a client that asked for an exclusive registration while a client with
/// the same key was waiting: <c>COLLISION\n</c>, then FIN. The waiting client is left as it was.
/// </summary>
public static class Collision
{
    /// <summary>The whole line.</summary>
    public static ReadOnlySpan<byte> Line => "COLLISION\n"u8;

    /// <summary>True when <paramref name="line"/> is exactly the collision line.</summary>
    public static bool Matches(ReadOnlySpan<byte> line) => line.SequenceEqual(Line);
}
