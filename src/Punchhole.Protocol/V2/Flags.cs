namespace Punchhole.Protocol.V2;

/// <summary>What a client asks for in its <c>CAND</c> line.</summary>
[Flags]
public enum ClientFlags
{
    None = 0,

    /// <summary><c>relay-ok</c>: this client may continue through the server's relay (it runs an authenticated, encrypted session).</summary>
    RelayOk = 1,

    /// <summary>
    /// <c>exclusive</c>: pair only as the first of a pair. If a client with the same key is waiting
    /// already, answer <c>COLLISION</c> instead of pairing (a client that chose its own code picks another).
    /// </summary>
    Exclusive = 2,
}

/// <summary>What a server offers in its hello.</summary>
[Flags]
public enum ServerFlags
{
    None = 0,

    /// <summary><c>relay</c>: the server relays for pairs whose two clients both said <c>relay-ok</c>.</summary>
    Relay = 1,
}

/// <summary>
/// A flags token: <c>-</c> for none, or flag words (a lower-case letter, then lower-case letters,
/// digits and hyphens) joined by commas, at most <see cref="TStun2.MaxFlagsLength"/> bytes. Readers
/// ignore words they do not know, so either side can add flags without breaking the other.
/// </summary>
internal static class FlagWords
{
    public static int Format(ClientFlags flags, Span<byte> destination)
    {
        int n = 0;
        if ((flags & ClientFlags.RelayOk) != 0)
        {
            n = Append(destination, n, "relay-ok"u8);
        }
        if ((flags & ClientFlags.Exclusive) != 0)
        {
            n = Append(destination, n, "exclusive"u8);
        }
        return n == 0 ? Append(destination, 0, "-"u8) : n;
    }

    public static int Format(ServerFlags flags, Span<byte> destination) =>
        (flags & ServerFlags.Relay) != 0 ? Append(destination, 0, "relay"u8) : Append(destination, 0, "-"u8);

    public static bool TryParse(ReadOnlySpan<byte> token, out ClientFlags flags)
    {
        flags = ClientFlags.None;
        if (!IsWellFormed(token))
        {
            return false;
        }
        foreach (var range in token.Split((byte)','))
        {
            var word = token[range];
            if (word.SequenceEqual("relay-ok"u8))
            {
                flags |= ClientFlags.RelayOk;
            }
            else if (word.SequenceEqual("exclusive"u8))
            {
                flags |= ClientFlags.Exclusive;
            }
        }
        return true;
    }

    public static bool TryParse(ReadOnlySpan<byte> token, out ServerFlags flags)
    {
        flags = ServerFlags.None;
        if (!IsWellFormed(token))
        {
            return false;
        }
        foreach (var range in token.Split((byte)','))
        {
            if (token[range].SequenceEqual("relay"u8))
            {
                flags |= ServerFlags.Relay;
            }
        }
        return true;
    }

    /// <summary><c>-</c>, or comma-separated words of the form the type's summary gives, within the length bound.</summary>
    private static bool IsWellFormed(ReadOnlySpan<byte> token)
    {
        if (token.Length is 0 or > TStun2.MaxFlagsLength)
        {
            return false;
        }
        if (token.SequenceEqual("-"u8))
        {
            return true;
        }
        bool wordStart = true;
        foreach (byte c in token)
        {
            if (c == ',')
            {
                if (wordStart)
                {
                    return false;
                }
                wordStart = true;
                continue;
            }
            bool letter = (uint)(c - 'a') <= 'z' - 'a';
            if (wordStart ? !letter : !(letter || (uint)(c - '0') <= 9 || c == '-'))
            {
                return false;
            }
            wordStart = false;
        }
        return !wordStart;
    }

    private static int Append(Span<byte> destination, int n, ReadOnlySpan<byte> word)
    {
        if (n > 0)
        {
            destination[n++] = (byte)',';
        }
        word.CopyTo(destination[n..]);
        return n + word.Length;
    }
}
