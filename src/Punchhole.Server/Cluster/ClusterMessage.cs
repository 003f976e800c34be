using System.Globalization;
using System.Net;
using Punchhole.Protocol;
using Punchhole.Protocol.V2;

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
/// What T-STUN/2 adds to a claim or a paired answer, so that a pair formed across instances gets
/// what a local pair gets. In a claim: whether the claimer said <c>relay-ok</c>, and its candidates.
/// In a paired answer: the waiter's candidates and, when the waiter's instance reserved a relay
/// session, the claimer's token and where that relay is. Empty for version 1 pairs.
/// </summary>
internal readonly record struct RemoteOffer(bool RelayOk, PeerAddress[]? Candidates, RelayToken Token, PeerAddress RelayAt)
{
    public ReadOnlySpan<PeerAddress> CandidateSpan => Candidates;
}

/// <summary>
/// One message between instances, as one short line of text in a Redis list:
/// <c>kind request from token key address relay relay-at candidates</c>, fields separated by single
/// spaces, unused ones "-"; addresses as <c>ADDR/PORT</c>, candidates joined by commas, <c>relay</c>
/// <c>ok</c> in a claim and a token's 32 hex digits in an answer. Text, so that an operator can read
/// an inbox with redis-cli.
/// </summary>
internal readonly record struct ClusterMessage(
    ClusterMessageKind Kind, long Request, string From, ulong Token, string Key, PeerAddress Address, RemoteOffer Offer = default)
{
    private static readonly string[] Kinds = ["claim", "reoffer", "paired", "gone"];

    public string Format()
    {
        string relay = !Offer.Token.IsEmpty ? Offer.Token.ToString() : Offer.RelayOk ? "ok" : "-";
        string candidates = Offer.Candidates is { Length: > 0 } list ? string.Join(',', list.Select(Text)) : "-";
        return string.Create(CultureInfo.InvariantCulture,
            $"{Kinds[(int)Kind]} {Request} {From} {Token} {(Key.Length == 0 ? "-" : Key)} {Text(Address)} {relay} {Text(Offer.RelayAt)} {candidates}");
    }

    /// <summary>False for anything but a line <see cref="Format"/> wrote.</summary>
    public static bool TryParse(string? line, out ClusterMessage message)
    {
        message = default;
        var fields = line?.Split(' ');
        if (fields is not { Length: 9 }
            || Array.IndexOf(Kinds, fields[0]) is var kind && kind < 0
            || !long.TryParse(fields[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out long request)
            || !ulong.TryParse(fields[3], NumberStyles.Integer, CultureInfo.InvariantCulture, out ulong token)
            || !TryParseAddress(fields[5], out var address)
            || !TryParseRelay(fields[6], out bool relayOk, out var relayToken)
            || !TryParseAddress(fields[7], out var relayAt)
            || !TryParseCandidates(fields[8], out var candidates))
        {
            return false;
        }
        message = new ClusterMessage((ClusterMessageKind)kind, request, fields[2], token, fields[4] == "-" ? "" : fields[4], address,
            new RemoteOffer(relayOk, candidates, relayToken, relayAt));
        return true;
    }

    private static string Text(PeerAddress address) =>
        address == default ? "-" : string.Create(CultureInfo.InvariantCulture, $"{address.ToIPAddress()}/{address.Port}");

    private static bool TryParseAddress(string text, out PeerAddress address)
    {
        address = default;
        if (text == "-")
        {
            return true;
        }
        int slash = text.LastIndexOf('/');
        if (slash < 0
            || !IPAddress.TryParse(text.AsSpan(0, slash), out var ip)
            || !ushort.TryParse(text.AsSpan(slash + 1), NumberStyles.Integer, CultureInfo.InvariantCulture, out ushort port))
        {
            return false;
        }
        address = PeerAddress.FromEndPoint(new IPEndPoint(ip, port));
        return true;
    }

    private static bool TryParseRelay(string text, out bool relayOk, out RelayToken token)
    {
        relayOk = text == "ok";
        token = default;
        return relayOk || text == "-" || RelayToken.TryParseHex(System.Text.Encoding.ASCII.GetBytes(text), out token);
    }

    private static bool TryParseCandidates(string text, out PeerAddress[]? candidates)
    {
        candidates = null;
        if (text == "-")
        {
            return true;
        }
        var parts = text.Split(',');
        if (parts.Length > TStun2.MaxCandidates)
        {
            return false;
        }
        candidates = new PeerAddress[parts.Length];
        for (int i = 0; i < parts.Length; i++)
        {
            if (!TryParseAddress(parts[i], out candidates[i]) || candidates[i] == default)
            {
                candidates = null;
                return false;
            }
        }
        return true;
    }
}
