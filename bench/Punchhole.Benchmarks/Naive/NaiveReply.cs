using System.Globalization;
using System.Net;
using System.Text;

namespace Punchhole.Benchmarks.Naive;

/// <summary>
/// The reply as straightforward .NET code writes and reads it: through strings, string.Format,
/// IPAddress.ToString/Parse and Encoding. The baseline that <c>PeerReply</c> is measured against.
/// </summary>
internal static class NaiveReply
{
    /// <summary><c>ADDR PORT</c> as text, with an IPv4-mapped address unmapped as the protocol asks.</summary>
    public static string Format(IPEndPoint client)
    {
        var address = client.Address.IsIPv4MappedToIPv6 ? client.Address.MapToIPv4() : client.Address;
        return string.Format(CultureInfo.InvariantCulture, "{0} {1}", address, client.Port);
    }

    /// <summary>The reply's bytes, ready for one send.</summary>
    public static byte[] FormatBytes(IPEndPoint client) => Encoding.ASCII.GetBytes(Format(client));

    /// <summary>Splits on white space and takes the first two tokens, as the original client does.</summary>
    public static IPEndPoint Parse(byte[] reply)
    {
        string[] tokens = Encoding.ASCII.GetString(reply).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        return new IPEndPoint(IPAddress.Parse(tokens[0]), int.Parse(tokens[1], NumberStyles.None, CultureInfo.InvariantCulture));
    }
}
