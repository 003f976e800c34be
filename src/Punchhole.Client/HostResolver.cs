using System.Net;
using System.Net.Sockets;
using Punchhole.Protocol.CommandLine;

namespace Punchhole.Client;

/// <summary>Host names to addresses for the T-STUN server, -L and -R, with one readable line when that fails.</summary>
internal static class HostResolver
{
    /// <summary>The longest name DNS allows.</summary>
    private const int LongestName = 255;

    /// <summary>
    /// Every address of <paramref name="host"/> (an IP literal is its own), of <paramref name="family"/>
    /// when one is given. <paramref name="what"/> names it in messages: "the T-STUN server".
    /// </summary>
    public static async Task<IPAddress[]> ResolveAsync(string host, AddressFamily? family, string what)
    {
        if (IPAddress.TryParse(host, out var literal))
        {
            if (family is { } wanted && literal.AddressFamily != wanted)
            {
                throw new ClientFailure($"{what} address {literal} is not {ClientOptions.Describe(wanted)}");
            }
            return [literal];
        }
        string name = OptionValue.Printable(host);
        if (host.Length > LongestName)
        {
            throw new ClientFailure($"cannot resolve {what} '{name}': a host name has at most {LongestName} characters");
        }
        IPAddress[] found;
        try
        {
            found = await Dns.GetHostAddressesAsync(host, family ?? AddressFamily.Unspecified).ConfigureAwait(false);
        }
        catch (SocketException e)
        {
            throw new ClientFailure($"cannot resolve {what} '{name}': {ErrorText.Of(e)}");
        }
        catch (ArgumentException)
        {
            throw new ClientFailure($"cannot resolve {what} '{name}': it is not a valid host name");
        }
        var usable = found.Where(a => family is null || a.AddressFamily == family).ToArray();
        if (usable.Length == 0)
        {
            throw new ClientFailure($"{what} '{name}' has no {(family is { } f ? ClientOptions.Describe(f) + " " : "")}address");
        }
        return usable;
    }
}
