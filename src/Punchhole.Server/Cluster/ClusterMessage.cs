using System.Globalization;
using System.Net;
using Punchhole.Protocol;

namespace Punchhole.Server.Cluster;

/// <summary>What one instance asks of another through its inbox.</summary>
internal enum ClusterMessageKind
{
    /// <summary>"Your waiter <c>Token</c> was claimed by my client at <c>Address</c>: send it its reply, then answer <c>Request</c>."</summary>
    Claim,

    /// <summary>"I took your waiter's registration but cannot use it after all: register it again if it still waits."</summary>
    Reoffer,

    /// <summary>"Your claim <c>Request</c> is done: the waiter at <c>Address</c> has its reply."</summary>
    Paired,

    /// <summary>"Your claim <c>Request</c> failed: that waiter left, or did not take its reply."</summary>
    Gone,
}

/// <summary>
/// One message between instances, as one short line of text in a Redis list:
/// <c>kind request from token key address</c>, fields separated by single spaces, unused ones "-".
/// Text, so that an operator can read an inbox with redis-cli.
/// </summary>
internal readonly record struct ClusterMessage(
    ClusterMessageKind Kind, long Request, string From, ulong Token, string Key, PeerAddress Address)
{
    private static readonly string[] Kinds = ["claim", "reoffer", "paired", "gone"];

    public string Format()
    {
        string address = Address == default ? "-" : $"{Address.ToIPAddress()}/{Address.Port}";
        return string.Create(CultureInfo.InvariantCulture,
            $"{Kinds[(int)Kind]} {Request} {From} {Token} {(Key.Length == 0 ? "-" : Key)} {address}");
    }

    /// <summary>False for anything but a line <see cref="Format"/> wrote.</summary>
    public static bool TryParse(string? line, out ClusterMessage message)
    {
        message = default;
        var fields = line?.Split(' ');
        if (fields is not { Length: 6 }
            || Array.IndexOf(Kinds, fields[0]) is var kind && kind < 0
            || !long.TryParse(fields[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out long request)
            || !ulong.TryParse(fields[3], NumberStyles.Integer, CultureInfo.InvariantCulture, out ulong token))
        {
            return false;
        }
        var address = default(PeerAddress);
        if (fields[5] != "-")
        {
            int slash = fields[5].LastIndexOf('/');
            if (slash < 0
                || !IPAddress.TryParse(fields[5].AsSpan(0, slash), out var ip)
                || !ushort.TryParse(fields[5].AsSpan(slash + 1), NumberStyles.Integer, CultureInfo.InvariantCulture, out ushort port))
            {
                return false;
            }
            address = PeerAddress.FromEndPoint(new IPEndPoint(ip, port));
        }
        message = new ClusterMessage((ClusterMessageKind)kind, request, fields[2], token, fields[4] == "-" ? "" : fields[4], address);
        return true;
    }
}
