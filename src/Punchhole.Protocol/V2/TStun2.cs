namespace Punchhole.Protocol.V2;

/// <summary>The bounds of T-STUN/2's lines (see docs/PROTOCOL.md). Every length includes the line's LF.</summary>
public static class TStun2
{
    /// <summary>The most candidate addresses a client offers, and so the most a <c>PEER</c> line carries.</summary>
    public const int MaxCandidates = 8;

    /// <summary>The longest flags token: <c>-</c>, or flag words joined by commas.</summary>
    public const int MaxFlagsLength = 64;

    /// <summary>The longest hello a server sends (the longest this grammar allows is 126 bytes).</summary>
    public const int MaxHelloLength = 160;

    /// <summary>The longest <c>CAND</c> line a client sends (the longest this grammar allows is 438 bytes).</summary>
    public const int MaxCandidateLineLength = 512;

    /// <summary>The longest <c>PEER</c> line a server sends (the longest this grammar allows is 500 bytes, 48 of them for the relay address after the token).</summary>
    public const int MaxPeerLineLength = 576;

    /// <summary>The longest relay status line (<c>REFUSED per-ip</c> and the like).</summary>
    public const int MaxRelayStatusLength = 32;

    /// <summary>The longest of all the lines, for a buffer that holds any of them.</summary>
    public const int MaxLineLength = MaxPeerLineLength;

    /// <summary>The byte that ends every line.</summary>
    public const byte LineFeed = (byte)'\n';

    /// <summary>The length of the first line in <paramref name="received"/>, its LF included; -1 while no LF is in.</summary>
    public static int LineLength(ReadOnlySpan<byte> received)
    {
        int end = received.IndexOf(LineFeed);
        return end < 0 ? -1 : end + 1;
    }
}
