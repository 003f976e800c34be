namespace Punchhole.Protocol;

/// <summary>
/// The server's reply: <c>ADDR PORT</c> in ASCII, one space, no newline, at most
/// <see cref="TStun.MaxReplyLength"/> bytes. Readers split on white space and use the
/// first two tokens, as the original client does.
/// </summary>
public static class PeerReply
{
    /// <summary>Writes the reply; returns the byte count. Needs <see cref="TStun.MaxReplyLength"/> bytes.</summary>
    public static int Format(in PeerAddress address, Span<byte> destination)
    {
        int n = address.FormatAddress(destination);
        destination[n++] = (byte)' ';
        return n + IpAddressText.FormatDecimal(address.Port, destination[n..]);
    }

    /// <summary>Parses a reply. False unless the first two tokens are an IP address and a port in 1..65535.</summary>
    public static bool TryParse(ReadOnlySpan<byte> reply, out PeerAddress address)
    {
        address = default;
        var rest = reply;
        var addressText = NextToken(ref rest);
        var portText = NextToken(ref rest);
        // Leading zeros are allowed, as Python's int() allows them.
        if (!IpAddressText.TryParsePortDigits(portText, out ushort port) || port == 0
            || !IpAddressText.TryParse(addressText, out ulong high, out ulong low))
        {
            return false;
        }
        address = new PeerAddress(high, low, port);
        return true;
    }

    private static ReadOnlySpan<byte> NextToken(ref ReadOnlySpan<byte> rest)
    {
        int start = 0;
        while (start < rest.Length && IsSpace(rest[start]))
        {
            start++;
        }
        int end = start;
        while (end < rest.Length && !IsSpace(rest[end]))
        {
            end++;
        }
        var token = rest[start..end];
        rest = rest[end..];
        return token;
    }

    // The ASCII white space Python's bytes.split() splits on.
    private static bool IsSpace(byte c) => c is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r' or 0x0b or 0x0c;
}
