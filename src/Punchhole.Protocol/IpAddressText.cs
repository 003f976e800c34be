using System.Buffers.Binary;

namespace Punchhole.Protocol;

/// <summary>
/// IP addresses as ASCII text, without allocating: dotted quads for IPv4 (and for
/// IPv4-mapped IPv6, which is written without its <c>::ffff:</c> prefix) and the
/// RFC 5952 canonical form for IPv6. Addresses are 16 big-endian bytes held as two words.
/// </summary>
public static class IpAddressText
{
    /// <summary>Room the longest address text needs (INET6_ADDRSTRLEN less the terminator, plus one).</summary>
    public const int MaxLength = 46;

    /// <summary>Writes the address; returns the byte count. <paramref name="destination"/> needs <see cref="MaxLength"/> bytes.</summary>
    public static int Format(ulong high, ulong low, Span<byte> destination)
    {
        if (high == 0 && (low >> 32) == 0xFFFF)
        {
            return FormatIPv4((uint)low, destination);
        }

        Span<ushort> words = stackalloc ushort[8];
        for (int i = 0; i < 4; i++)
        {
            words[i] = (ushort)(high >> (48 - 16 * i));
            words[i + 4] = (ushort)(low >> (48 - 16 * i));
        }

        // RFC 5952 4.2: "::" stands for the longest run of two or more zero words, the first on a tie.
        int bestStart = -1, bestLength = 1;
        for (int i = 0; i < 8;)
        {
            if (words[i] != 0)
            {
                i++;
                continue;
            }
            int start = i;
            while (i < 8 && words[i] == 0)
            {
                i++;
            }
            if (i - start > bestLength)
            {
                bestStart = start;
                bestLength = i - start;
            }
        }

        int n = 0;
        for (int i = 0; i < 8; i++)
        {
            if (i == bestStart)
            {
                destination[n++] = (byte)':';
                destination[n++] = (byte)':';
                i += bestLength - 1;
                continue;
            }
            if (i > 0 && i != bestStart + bestLength)
            {
                destination[n++] = (byte)':';
            }
            n += FormatHexWord(words[i], destination[n..]);
        }
        return n;
    }

    /// <summary>Writes a dotted quad; returns the byte count.</summary>
    public static int FormatIPv4(uint address, Span<byte> destination)
    {
        int n = 0;
        for (int shift = 24; shift >= 0; shift -= 8)
        {
            n += FormatDecimal((byte)(address >> shift), destination[n..]);
            if (shift > 0)
            {
                destination[n++] = (byte)'.';
            }
        }
        return n;
    }

    /// <summary>
    /// Parses a dotted quad or an IPv6 address (with an optional trailing dotted quad).
    /// IPv4 comes back IPv4-mapped. Strict like inet_pton: no leading zeros in octets, no zone.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<byte> text, out ulong high, out ulong low)
    {
        high = 0;
        low = 0;
        if (TryParseIPv4(text, out uint v4))
        {
            low = 0xFFFF_0000_0000UL | v4;
            return true;
        }
        return TryParseIPv6(text, out high, out low);
    }

    public static bool TryParseIPv4(ReadOnlySpan<byte> text, out uint address)
    {
        address = 0;
        int octets = 0, i = 0;
        while (true)
        {
            int start = i, value = 0;
            while (i < text.Length && i - start < 4 && IsDigit(text[i]))
            {
                value = value * 10 + (text[i] - '0');
                i++;
            }
            int digits = i - start;
            if (digits == 0 || digits > 3 || value > 255 || (digits > 1 && text[start] == '0'))
            {
                return false;
            }
            address = (address << 8) | (uint)value;
            octets++;
            if (octets == 4)
            {
                return i == text.Length;
            }
            if (i >= text.Length || text[i] != '.')
            {
                return false;
            }
            i++;
        }
    }

    private static bool TryParseIPv6(ReadOnlySpan<byte> text, out ulong high, out ulong low)
    {
        high = 0;
        low = 0;
        Span<ushort> words = stackalloc ushort[8];
        int count = 0, gap = -1, i = 0;

        if (text.Length < 2)
        {
            return false;
        }
        if (text[0] == ':')
        {
            if (text[1] != ':')
            {
                return false;
            }
            gap = 0;
            i = 2;
        }

        while (i < text.Length)
        {
            if (count == 8)
            {
                return false;
            }
            int start = i, value = 0;
            while (i < text.Length && i - start < 5 && HexValue(text[i]) is int digit and >= 0)
            {
                value = (value << 4) | digit;
                i++;
            }
            if (i == start)
            {
                return false;
            }
            if (i < text.Length && text[i] == '.')
            {
                // A trailing dotted quad fills the last two words.
                if (count > 6 || !TryParseIPv4(text[start..], out uint v4))
                {
                    return false;
                }
                words[count++] = (ushort)(v4 >> 16);
                words[count++] = (ushort)v4;
                i = text.Length;
                break;
            }
            if (i - start > 4)
            {
                return false;
            }
            words[count++] = (ushort)value;
            if (i == text.Length)
            {
                break;
            }
            if (text[i] != ':')
            {
                return false;
            }
            i++;
            if (i < text.Length && text[i] == ':')
            {
                if (gap >= 0)
                {
                    return false;
                }
                gap = count;
                i++;
            }
            else if (i == text.Length)
            {
                return false;
            }
        }

        if (gap >= 0)
        {
            // "::" must stand for at least one zero word.
            if (count == 8)
            {
                return false;
            }
            int tail = count - gap;
            words.Slice(gap, tail).CopyTo(words[(8 - tail)..]);
            words[gap..(8 - tail)].Clear();
        }
        else if (count != 8)
        {
            return false;
        }

        for (int w = 0; w < 4; w++)
        {
            high = (high << 16) | words[w];
            low = (low << 16) | words[w + 4];
        }
        return true;
    }

    /// <summary>Reads 16 address bytes (or 4 for IPv4, which become IPv4-mapped) into two words.</summary>
    public static bool TryReadBytes(ReadOnlySpan<byte> bytes, out ulong high, out ulong low)
    {
        switch (bytes.Length)
        {
            case 4:
                high = 0;
                low = 0xFFFF_0000_0000UL | BinaryPrimitives.ReadUInt32BigEndian(bytes);
                return true;
            case 16:
                high = BinaryPrimitives.ReadUInt64BigEndian(bytes);
                low = BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]);
                return true;
            default:
                high = low = 0;
                return false;
        }
    }

    /// <summary>
    /// A port in its one decimal spelling: 0..65535, no sign, no leading zero (so "0" alone is 0).
    /// The PROXY protocol's v1 line and T-STUN/2's lines both spell ports so; callers that
    /// refuse port 0 check it themselves.
    /// </summary>
    internal static bool TryParsePort(ReadOnlySpan<byte> text, out ushort port)
    {
        port = 0;
        if (text.Length > 1 && text[0] == (byte)'0')
        {
            return false;
        }
        return TryParsePortDigits(text, out port);
    }

    /// <summary>1 to 5 decimal digits (leading zeros allowed) of a value 0..65535.</summary>
    internal static bool TryParsePortDigits(ReadOnlySpan<byte> text, out ushort port)
    {
        port = 0;
        if (text.IsEmpty || text.Length > 5)
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

    internal static int FormatDecimal(uint value, Span<byte> destination)
    {
        int digits = value switch { < 10 => 1, < 100 => 2, < 1000 => 3, < 10000 => 4, _ => 5 };
        for (int i = digits - 1; i >= 0; i--)
        {
            destination[i] = (byte)('0' + value % 10);
            value /= 10;
        }
        return digits;
    }

    private static int FormatHexWord(ushort value, Span<byte> destination)
    {
        int digits = value switch { < 0x10 => 1, < 0x100 => 2, < 0x1000 => 3, _ => 4 };
        for (int i = digits - 1; i >= 0; i--)
        {
            destination[i] = (byte)"0123456789abcdef"[value & 0xF];
            value >>= 4;
        }
        return digits;
    }

    private static bool IsDigit(byte c) => (uint)(c - '0') <= 9;

    private static int HexValue(byte c) => c switch
    {
        >= (byte)'0' and <= (byte)'9' => c - '0',
        >= (byte)'a' and <= (byte)'f' => c - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => c - 'A' + 10,
        _ => -1,
    };
}
