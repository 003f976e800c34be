namespace Punchhole.Protocol.V2;

/// <summary>
/// Reads one T-STUN/2 line strictly: it must end in its only LF, and its tokens are separated by
/// exactly one space, with none before the first or after the last. Anything else marks the line
/// malformed, so each line has exactly one spelling and a parsed line formats back to itself.
/// </summary>
internal ref struct LineTokens
{
    private ReadOnlySpan<byte> _rest;
    private bool _malformed;

    /// <param name="line">The whole line, its LF included.</param>
    /// <param name="maxLength">The line's bound; a longer line is malformed.</param>
    public LineTokens(ReadOnlySpan<byte> line, int maxLength)
    {
        if (line.Length is < 2 || line.Length > maxLength || line[^1] != TStun2.LineFeed)
        {
            _malformed = true;
            _rest = default;
            return;
        }
        _rest = line[..^1];
        // Control bytes (an LF inside, a CR, NUL), spaces at either end, and runs of spaces are all malformed.
        _malformed = _rest.IndexOfAnyExceptInRange((byte)' ', (byte)'~') >= 0
            || _rest[0] == ' ' || _rest[^1] == ' ' || _rest.IndexOf("  "u8) >= 0;
    }

    /// <summary>True once anything in the line broke the grammar.</summary>
    public readonly bool Malformed => _malformed;

    /// <summary>True when every token has been read.</summary>
    public readonly bool AtEnd => _rest.IsEmpty;

    /// <summary>The next token; false (and the line marked malformed) when there is none.</summary>
    public bool TryNext(out ReadOnlySpan<byte> token)
    {
        if (_malformed || _rest.IsEmpty)
        {
            _malformed = true;
            token = default;
            return false;
        }
        int space = _rest.IndexOf((byte)' ');
        if (space < 0)
        {
            token = _rest;
            _rest = default;
        }
        else
        {
            token = _rest[..space];
            _rest = _rest[(space + 1)..];
        }
        return true;
    }

    /// <summary>Reads a token that must equal <paramref name="expected"/>.</summary>
    public bool Expect(ReadOnlySpan<byte> expected)
    {
        if (TryNext(out var token) && token.SequenceEqual(expected))
        {
            return true;
        }
        _malformed = true;
        return false;
    }

    /// <summary>
    /// Reads an address token and a port token in the one spelling the format writes: a dotted quad
    /// or RFC 5952 IPv6 text (IPv4-mapped addresses as dotted quads), and a port 1..65535 in decimal
    /// with no leading zero.
    /// </summary>
    public bool TryReadEndpoint(out PeerAddress endpoint)
    {
        endpoint = default;
        if (!TryNext(out var addressText) || !TryNext(out var portText)
            || addressText.Length > IpAddressText.MaxLength
            || !IpAddressText.TryParse(addressText, out ulong high, out ulong low)
            || !IpAddressText.TryParsePort(portText, out ushort port) || port == 0)
        {
            _malformed = true;
            return false;
        }
        Span<byte> canonical = stackalloc byte[IpAddressText.MaxLength];
        if (!canonical[..IpAddressText.Format(high, low, canonical)].SequenceEqual(addressText))
        {
            _malformed = true;
            return false;
        }
        endpoint = new PeerAddress(high, low, port);
        return true;
    }

    /// <summary>True when the line is well formed and fully read.</summary>
    public readonly bool Complete => !_malformed && _rest.IsEmpty;
}

/// <summary>Writes one T-STUN/2 line into a span, token by token.</summary>
internal ref struct LineWriter
{
    private readonly Span<byte> _destination;
    private int _length;

    public LineWriter(Span<byte> destination, int maxLength)
    {
        if (destination.Length < maxLength)
        {
            throw new ArgumentException($"Need {maxLength} bytes of room.", nameof(destination));
        }
        _destination = destination;
        _length = 0;
    }

    /// <summary>Starts the next token (a space unless it is the first); call it before reading <c>_length</c> again.</summary>
    private Span<byte> Next()
    {
        if (_length > 0)
        {
            _destination[_length++] = (byte)' ';
        }
        return _destination[_length..];
    }

    public void Word(ReadOnlySpan<byte> word)
    {
        var next = Next();
        word.CopyTo(next);
        _length += word.Length;
    }

    public void Endpoint(in PeerAddress endpoint)
    {
        var next = Next();
        _length += PeerReply.Format(endpoint, next);
    }

    public void Flags(ClientFlags flags)
    {
        var next = Next();
        _length += FlagWords.Format(flags, next);
    }

    public void Flags(ServerFlags flags)
    {
        var next = Next();
        _length += FlagWords.Format(flags, next);
    }

    public void Token(in RelayToken token) => Token(token, default);

    /// <summary>
    /// A relay token, followed by <c>@ADDR:PORT</c> (<c>@[ADDR]:PORT</c> for IPv6) when
    /// <paramref name="relay"/> names the relay the token is for (port 0: the server that sends the line).
    /// </summary>
    public void Token(in RelayToken token, in PeerAddress relay)
    {
        var next = Next();
        if (token.IsEmpty)
        {
            _length += WriteDash(next);
            return;
        }
        int n = token.FormatHex(next);
        if (relay.Port != 0)
        {
            next[n++] = (byte)'@';
            n += RelayAddressText.Format(relay, next[n..]);
        }
        _length += n;
    }

    /// <summary>Ends the line with its LF; returns its length.</summary>
    public int End()
    {
        _destination[_length++] = TStun2.LineFeed;
        return _length;
    }

    private static int WriteDash(Span<byte> destination)
    {
        destination[0] = (byte)'-';
        return 1;
    }
}

/// <summary>
/// Where a relay token is to be presented, in a <c>PEER</c> line's token field: <c>ADDR:PORT</c>
/// with a dotted quad, or <c>[ADDR]:PORT</c> with RFC 5952 IPv6 text; one spelling each, port 1..65535.
/// </summary>
internal static class RelayAddressText
{
    /// <summary>The longest: brackets, the longest address text, a colon and five digits.</summary>
    public const int MaxLength = IpAddressText.MaxLength + 8;

    public static int Format(in PeerAddress relay, Span<byte> destination)
    {
        int n = 0;
        bool v6 = !relay.IsIPv4;
        if (v6)
        {
            destination[n++] = (byte)'[';
        }
        n += relay.FormatAddress(destination[n..]);
        if (v6)
        {
            destination[n++] = (byte)']';
        }
        destination[n++] = (byte)':';
        return n + IpAddressText.FormatDecimal(relay.Port, destination[n..]);
    }

    public static bool TryParse(ReadOnlySpan<byte> text, out PeerAddress relay)
    {
        relay = default;
        int colon = text.LastIndexOf((byte)':');
        if (colon < 0 || text.Length > MaxLength || !IpAddressText.TryParsePort(text[(colon + 1)..], out ushort port) || port == 0)
        {
            return false;
        }
        var address = text[..colon];
        bool v6 = address.Length > 2 && address[0] == (byte)'[' && address[^1] == (byte)']';
        if (v6)
        {
            address = address[1..^1];
        }
        if (!IpAddressText.TryParse(address, out ulong high, out ulong low))
        {
            return false;
        }
        var parsed = new PeerAddress(high, low, port);
        // One spelling: brackets exactly around IPv6 text, and the address as the format writes it.
        Span<byte> canonical = stackalloc byte[MaxLength];
        if (!canonical[..Format(parsed, canonical)].SequenceEqual(text))
        {
            return false;
        }
        relay = parsed;
        return true;
    }
}
