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
            || !TryParsePort(portText, out ushort port))
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

    private static bool TryParsePort(ReadOnlySpan<byte> text, out ushort port)
    {
        port = 0;
        if (text.Length is 0 or > 5 || text[0] == '0')
        {
            return false;
        }
        int value = 0;
        foreach (byte c in text)
        {
            if ((uint)(c - '0') > 9)
            {
                return false;
            }
            value = value * 10 + (c - '0');
        }
        if (value > 65535)
        {
            return false;
        }
        port = (ushort)value;
        return true;
    }
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

    public void Token(in RelayToken token)
    {
        var next = Next();
        _length += token.IsEmpty ? WriteDash(next) : token.FormatHex(next);
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
