namespace Punchhole.Protocol.V2;

/// <summary>Why the server refused a relay leg, as its <c>REFUSED</c> line says.</summary>
public enum RelayRefusal
{
    /// <summary>A reason this library does not know (a newer server's).</summary>
    Other,

    /// <summary><c>token</c>: unknown, expired, or used already (tokens are single-use).</summary>
    Token,

    /// <summary><c>off</c>: this server does not relay.</summary>
    Off,

    /// <summary><c>busy</c>: the server relays as many sessions as it allows.</summary>
    Busy,

    /// <summary><c>per-ip</c>: this source address has as many relay legs open as the server allows.</summary>
    PerIp,

    /// <summary><c>timeout</c>: the other leg did not arrive in time.</summary>
    Timeout,

    /// <summary><c>shutdown</c>: the server is stopping.</summary>
    Shutdown,
}

/// <summary>
/// What the server says on a relay leg, after the leg's 32-byte key and before any relayed byte:
/// <c>JOINED\n</c> once both legs of the session are in (every byte after it is the peer's), or
/// <c>REFUSED REASON\n</c> and FIN. A leg sends nothing after its key until it has read one of them.
/// </summary>
public static class RelayStatus
{
    /// <summary>The line that starts the relayed bytes.</summary>
    public static ReadOnlySpan<byte> Joined => "JOINED\n"u8;

    /// <summary>Writes <c>REFUSED REASON\n</c>; returns its length (at most <see cref="TStun2.MaxRelayStatusLength"/>).</summary>
    public static int FormatRefused(RelayRefusal reason, Span<byte> destination)
    {
        var line = new LineWriter(destination, TStun2.MaxRelayStatusLength);
        line.Word("REFUSED"u8);
        line.Word(Word(reason));
        return line.End();
    }

    /// <summary>
    /// Parses a status line, its LF included: true with <paramref name="joined"/> set for <c>JOINED</c>,
    /// true with <paramref name="refusal"/> set for <c>REFUSED</c> (an unknown reason word is <see cref="RelayRefusal.Other"/>).
    /// </summary>
    public static bool TryParse(ReadOnlySpan<byte> line, out bool joined, out RelayRefusal refusal)
    {
        joined = false;
        refusal = RelayRefusal.Other;
        if (line.SequenceEqual(Joined))
        {
            joined = true;
            return true;
        }
        var tokens = new LineTokens(line, TStun2.MaxRelayStatusLength);
        if (!tokens.Expect("REFUSED"u8) || !tokens.TryNext(out var word) || !tokens.Complete || !IsReasonWord(word))
        {
            return false;
        }
        foreach (var known in (ReadOnlySpan<RelayRefusal>)[RelayRefusal.Token, RelayRefusal.Off, RelayRefusal.Busy,
            RelayRefusal.PerIp, RelayRefusal.Timeout, RelayRefusal.Shutdown])
        {
            if (word.SequenceEqual(Word(known)))
            {
                refusal = known;
            }
        }
        return true;
    }

    /// <summary>The reason's word on the wire.</summary>
    public static ReadOnlySpan<byte> Word(RelayRefusal reason) => reason switch
    {
        RelayRefusal.Token => "token"u8,
        RelayRefusal.Off => "off"u8,
        RelayRefusal.Busy => "busy"u8,
        RelayRefusal.PerIp => "per-ip"u8,
        RelayRefusal.Timeout => "timeout"u8,
        RelayRefusal.Shutdown => "shutdown"u8,
        _ => "other"u8,
    };

    // Lower-case letters and hyphens, beginning with a letter.
    private static bool IsReasonWord(ReadOnlySpan<byte> word) =>
        word.Length > 0 && (uint)(word[0] - 'a') <= 'z' - 'a' && word.IndexOfAnyExcept("abcdefghijklmnopqrstuvwxyz-"u8) < 0;
}
