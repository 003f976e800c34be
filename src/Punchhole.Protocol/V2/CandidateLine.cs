namespace Punchhole.Protocol.V2;

/// <summary>
/// A v2 client's answer to the hello: <c>CAND FLAGS [ADDR PORT]...\n</c>, at most
/// <see cref="TStun2.MaxCandidates"/> candidates (the client's local addresses with its punch
/// port) and at most <see cref="TStun2.MaxCandidateLineLength"/> bytes. <c>FLAGS</c> is
/// <c>relay-ok</c>, <c>exclusive</c>, both joined by a comma, or <c>-</c>.
/// </summary>
public static class CandidateLine
{
    /// <summary>Writes the line; returns its length. At most <see cref="TStun2.MaxCandidates"/> candidates.</summary>
    public static int Format(ClientFlags flags, ReadOnlySpan<PeerAddress> candidates, Span<byte> destination)
    {
        if (candidates.Length > TStun2.MaxCandidates)
        {
            throw new ArgumentException($"At most {TStun2.MaxCandidates} candidates, not {candidates.Length}.", nameof(candidates));
        }
        var line = new LineWriter(destination, TStun2.MaxCandidateLineLength);
        line.Word("CAND"u8);
        line.Flags(flags);
        foreach (var candidate in candidates)
        {
            line.Endpoint(candidate);
        }
        return line.End();
    }

    /// <summary>
    /// Parses a whole line, its LF included, into <paramref name="flags"/> and <paramref name="candidates"/>
    /// (cleared first). False for anything outside the grammar, a ninth candidate included.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<byte> line, out ClientFlags flags, ref CandidateList candidates)
    {
        candidates.Clear();
        var tokens = new LineTokens(line, TStun2.MaxCandidateLineLength);
        if (!tokens.Expect("CAND"u8) || !tokens.TryNext(out var flagsToken) || !FlagWords.TryParse(flagsToken, out flags))
        {
            flags = ClientFlags.None;
            return false;
        }
        if (!PeerLine.TryReadCandidates(ref tokens, ref candidates))
        {
            flags = ClientFlags.None;
            return false;
        }
        return true;
    }
}
