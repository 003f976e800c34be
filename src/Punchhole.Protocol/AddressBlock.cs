using System.Globalization;
using System.Text;

namespace Punchhole.Protocol;

/// <summary>
/// A block of IP addresses in CIDR notation (<c>10.0.0.0/8</c>, <c>2001:db8::/32</c>, or one
/// address). IPv4 blocks are held IPv4-mapped, as <see cref="PeerAddress"/> holds IPv4 addresses,
/// so an IPv4 block also matches IPv4 clients seen on a dual-stack socket.
/// </summary>
public readonly struct AddressBlock : IEquatable<AddressBlock>
{
    private readonly ulong _high, _low;

    private AddressBlock(ulong high, ulong low, int bits, bool ipv4)
    {
        _high = high;
        _low = low;
        Bits = bits;
        IsIPv4 = ipv4;
    }

    /// <summary>The prefix length over the 128-bit (IPv4-mapped) form.</summary>
    public int Bits { get; }

    public bool IsIPv4 { get; }

    /// <summary>Parses <c>ADDRESS[/PREFIX]</c>; false with a one-line reason (without the text, which the caller quotes).</summary>
    public static bool TryParse(string text, out AddressBlock block, out string? error)
    {
        ArgumentNullException.ThrowIfNull(text);
        block = default;
        int slash = text.IndexOf('/', StringComparison.Ordinal);
        string addressText = slash < 0 ? text : text[..slash];
        // Non-ASCII characters become '?', which no address contains.
        if (!IpAddressText.TryParse(Encoding.ASCII.GetBytes(addressText), out ulong high, out ulong low))
        {
            error = "is not an IP address or CIDR block";
            return false;
        }
        bool ipv4 = IpAddressText.TryParseIPv4(Encoding.ASCII.GetBytes(addressText), out _);
        int max = ipv4 ? 32 : 128;
        int prefix = max;
        if (slash >= 0
            && (!int.TryParse(text.AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out prefix) || prefix > max
                || (text.Length - slash - 1 > 1 && text[slash + 1] == '0')))
        {
            error = $"has a prefix length that is not 0 to {max}";
            return false;
        }
        int bits = ipv4 ? prefix + 96 : prefix;
        var (maskHigh, maskLow) = Mask(bits);
        if ((high & ~maskHigh) != 0 || (low & ~maskLow) != 0)
        {
            error = $"has address bits set past its /{prefix} prefix";
            return false;
        }
        block = new AddressBlock(high, low, bits, ipv4);
        error = null;
        return true;
    }

    /// <summary>True when <paramref name="address"/> lies in this block.</summary>
    public bool Contains(in PeerAddress address)
    {
        var (maskHigh, maskLow) = Mask(Bits);
        return (address.High & maskHigh) == _high && (address.Low & maskLow) == _low;
    }

    private static (ulong High, ulong Low) Mask(int bits) => bits switch
    {
        0 => (0, 0),
        < 64 => (~0UL << (64 - bits), 0),
        64 => (~0UL, 0),
        < 128 => (~0UL, ~0UL << (128 - bits)),
        _ => (~0UL, ~0UL),
    };

    public bool Equals(AddressBlock other) => _high == other._high && _low == other._low && Bits == other.Bits;

    public override bool Equals(object? obj) => obj is AddressBlock other && Equals(other);

    public override int GetHashCode() => HashCode.Combine(_high, _low, Bits);

    public static bool operator ==(AddressBlock left, AddressBlock right) => left.Equals(right);

    public static bool operator !=(AddressBlock left, AddressBlock right) => !left.Equals(right);

    /// <summary>CIDR text: <c>10.0.0.0/8</c>, <c>2001:db8::/32</c>.</summary>
    public override string ToString()
    {
        Span<byte> text = stackalloc byte[IpAddressText.MaxLength];
        int n = IpAddressText.Format(_high, _low, text);
        // An IPv6 block of IPv4-mapped addresses keeps its prefix, so its length reads right.
        string mapped = !IsIPv4 && _high == 0 && (_low >> 32) == 0xFFFF ? "::ffff:" : "";
        return $"{mapped}{Encoding.ASCII.GetString(text[..n])}/{(IsIPv4 ? Bits - 96 : Bits)}";
    }
}
