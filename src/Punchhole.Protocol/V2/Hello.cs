namespace Punchhole.Protocol.V2;

/// <summary>What a client can tell from the first bytes a server sent after its v2 key.</summary>
public enum Greeting
{
    /// <summary>Too few bytes yet: they begin like a hello. Read on.</summary>
    Incomplete,

    /// <summary>A T-STUN/2 server's hello: read it to its LF and parse it with <see cref="Hello.TryParse"/>.</summary>
    Hello,

    /// <summary>
    /// Anything else: a v1 server's <c>ADDR PORT</c> (the original server answers a v2 key like any
    /// key, once a partner arrived), or bytes that are neither. Read on to EOF and parse as v1.
    /// </summary>
    NotHello,
}

/// <summary>
/// The hello a T-STUN/2 server sends a v2 client at once, before pairing:
/// <c>T-STUN/2 HELLO ADDR PORT FLAGS\n</c>, where <c>ADDR PORT</c> is the client's own observed
/// address and <c>FLAGS</c> what the server offers (<c>relay</c>, or <c>-</c>). A v1 reply never
/// begins with <c>T</c>: addresses begin with a digit, a hex letter or a colon.
/// </summary>
public static class Hello
{
    private static ReadOnlySpan<byte> Start => "T-STUN/2 HELLO "u8;

    /// <summary>Writes the hello; returns its length (at most <see cref="TStun2.MaxHelloLength"/>).</summary>
    public static int Format(in PeerAddress observed, ServerFlags flags, Span<byte> destination)
    {
        var line = new LineWriter(destination, TStun2.MaxHelloLength);
        line.Word("T-STUN/2"u8);
        line.Word("HELLO"u8);
        line.Endpoint(observed);
        line.Flags(flags);
        return line.End();
    }

    /// <summary>Parses a whole hello line, its LF included. Strict: see docs/PROTOCOL.md.</summary>
    public static bool TryParse(ReadOnlySpan<byte> line, out PeerAddress observed, out ServerFlags flags)
    {
        flags = ServerFlags.None;
        var tokens = new LineTokens(line, TStun2.MaxHelloLength);
        if (!tokens.Expect("T-STUN/2"u8) || !tokens.Expect("HELLO"u8) || !tokens.TryReadEndpoint(out observed)
            || !tokens.TryNext(out var flagsToken) || !FlagWords.TryParse(flagsToken, out flags) || !tokens.Complete)
        {
            observed = default;
            flags = ServerFlags.None;
            return false;
        }
        return true;
    }

    /// <summary>Tells a hello from a v1 reply by the bytes received so far.</summary>
    public static Greeting Identify(ReadOnlySpan<byte> received)
    {
        int n = Math.Min(received.Length, Start.Length);
        if (!received[..n].SequenceEqual(Start[..n]))
        {
            return Greeting.NotHello;
        }
        return n == Start.Length ? Greeting.Hello : Greeting.Incomplete;
    }
}
