using System.Net;
using System.Net.Sockets;
using System.Text;
using Punchhole.Protocol;
using static Punchhole.Fuzz.InvariantException;

namespace Punchhole.Fuzz;

/// <summary>Targets in the protocol library: the reply parser and the address text parser.</summary>
public static class ProtocolTargets
{
    /// <summary>
    /// PeerReply.TryParse: never throws; what it accepts has a port in 1..65535, formats into at most
    /// 52 bytes, parses back to the same address, and its first token is an address that .NET's own
    /// parser reads the same way (ours is the stricter of the two).
    /// </summary>
    public static void PeerReply(ReadOnlySpan<byte> input)
    {
        if (!Protocol.PeerReply.TryParse(input, out var address))
        {
            return;
        }
        Check(address.Port is >= 1 and <= 65535, "port out of range");
        Span<byte> text = stackalloc byte[TStun.MaxReplyLength];
        int length = Protocol.PeerReply.Format(address, text);
        Check(Protocol.PeerReply.TryParse(text[..length], out var again) && again == address,
            $"'{Encoding.ASCII.GetString(text[..length])}' does not parse back to the same address");

        string first = Encoding.Latin1.GetString(FirstToken(input));
        Check(IPAddress.TryParse(first, out var net), $"'{first}' accepted, but .NET does not read it as an address");
        Check(Unmapped(net).Equals(Unmapped(address.ToIPAddress())), $"'{first}': .NET reads {net}, we read {address.ToIPAddress()}");
    }

    /// <summary>
    /// IpAddressText: parsing never throws; an accepted text formats canonically (within 46 bytes),
    /// the canonical text parses back to the same address and formats to itself, and .NET reads the
    /// input as the same address. The first 16 input bytes, taken as a raw address, round-trip too.
    /// </summary>
    public static void IpAddress(ReadOnlySpan<byte> input)
    {
        Span<byte> text = stackalloc byte[IpAddressText.MaxLength];
        if (IpAddressText.TryParse(input, out ulong high, out ulong low))
        {
            int length = IpAddressText.Format(high, low, text);
            Check(IpAddressText.TryParse(text[..length], out ulong high2, out ulong low2) && high2 == high && low2 == low,
                $"canonical '{Encoding.ASCII.GetString(text[..length])}' does not parse back");
            Span<byte> again = stackalloc byte[IpAddressText.MaxLength];
            Check(again[..IpAddressText.Format(high2, low2, again)].SequenceEqual(text[..length]), "canonical form is not stable");

            string original = Encoding.Latin1.GetString(input);
            Check(System.Net.IPAddress.TryParse(original, out var net), $"'{original}' accepted, but .NET does not read it as an address");
            Check(Unmapped(net).Equals(Unmapped(new PeerAddress(high, low, 1).ToIPAddress())), $"'{original}': .NET reads {net}");

            bool isV4 = IpAddressText.TryParseIPv4(input, out uint v4);
            Check(!isV4 || (high == 0 && low == (0xFFFF_0000_0000UL | v4)), "IPv4 parse disagrees with the general one");
        }

        if (input.Length >= 16)
        {
            Check(IpAddressText.TryReadBytes(input[..16], out high, out low), "16 bytes not read");
            int length = IpAddressText.Format(high, low, text);
            Check(IpAddressText.TryParse(text[..length], out ulong high2, out ulong low2) && high2 == high && low2 == low,
                $"formatted '{Encoding.ASCII.GetString(text[..length])}' does not parse back to the raw address");
            string formatted = Encoding.ASCII.GetString(text[..length]);
            Check(System.Net.IPAddress.TryParse(formatted, out var net) && Unmapped(net).Equals(Unmapped(new System.Net.IPAddress(input[..16]))),
                $"formatted '{formatted}' means another address to .NET");
        }
    }

    private static IPAddress Unmapped(IPAddress address) =>
        address.AddressFamily == AddressFamily.InterNetworkV6 && address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;

    // The first token as the reply parser splits (ASCII white space, as Python's bytes.split()).
    private static ReadOnlySpan<byte> FirstToken(ReadOnlySpan<byte> input)
    {
        int start = 0;
        while (start < input.Length && IsSpace(input[start]))
        {
            start++;
        }
        int end = start;
        while (end < input.Length && !IsSpace(input[end]))
        {
            end++;
        }
        return input[start..end];
    }

    private static bool IsSpace(byte c) => c is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r' or 0x0b or 0x0c;
}
