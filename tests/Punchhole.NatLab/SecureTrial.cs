using System.Net.Sockets;

namespace Punchhole.NatLab;

/// <summary>The way two secure clients are expected to reach each other, by the path line each prints.</summary>
/// <param name="Line">the start of the path line, e.g. "connected directly over the LAN ("</param>
/// <param name="NamesPeerAddress">the line must also name the other client's own address (a LAN path)</param>
public sealed record ExpectedPath(string Line, bool NamesPeerAddress)
{
    public static readonly ExpectedPath Lan = new("connected directly over the LAN (", NamesPeerAddress: true);

    public static readonly ExpectedPath Relayed = new("relayed through tstun (no direct path)", NamesPeerAddress: false);

    /// <summary>Whether <paramref name="client"/> printed this path towards <paramref name="peer"/>.</summary>
    public bool SaidBy(LabProcess client, LabHost peer, AddressFamily family)
    {
        string address = family == AddressFamily.InterNetworkV6 ? $"[{peer.Address(family)}]:" : $"{peer.Address(family)}:";
        return client.StderrLines.Any(l => l.Text.Contains(Line, StringComparison.Ordinal)
            && (!NamesPeerAddress || l.Text.Contains(Line + address, StringComparison.Ordinal)));
    }
}

/// <summary>One run of two secure clients (T-STUN/2, candidates, the relay where tstun offers it).</summary>
public static class SecureTrial
{
    private static readonly TimeSpan ConnectBound = TimeSpan.FromSeconds(25);

    /// <summary>The secure client's line once the handshake has proven the peer.</summary>
    public static bool IsAuthenticated(string line) => line.Contains("the peer knows the code", StringComparison.Ordinal);

    /// <summary>
    /// OK when both clients authenticate, both print <paramref name="path"/>, a line crosses each way
    /// and both exit 0. Elapsed is the start-to-authenticated time of the later one.
    /// </summary>
    public static async Task<TrialResult> ConnectAsync(Lab lab, string punchhole, AddressFamily family, ExpectedPath path)
    {
        using var pair = PunchPair.Start(lab, punchhole, family, secure: true);
        var a = pair.A.WaitForLineAsync(IsAuthenticated, ConnectBound);
        var b = pair.B.WaitForLineAsync(IsAuthenticated, ConnectBound);
        var (lineA, lineB) = (await a, await b);
        if (lineA is null || lineB is null)
        {
            return new TrialResult(false, lab.Clock.Elapsed - pair.Started, $"not authenticated:\n{pair.Describe()}");
        }
        var elapsed = (lineA.Value.At > lineB.Value.At ? lineA.Value.At : lineB.Value.At) - pair.Started;
        bool said = path.SaidBy(pair.A, lab.ClientB, family) && path.SaidBy(pair.B, lab.ClientA, family);
        var (crossed, codeA, codeB) = await pair.PingAndEndAsync(TimeSpan.FromSeconds(20));
        bool ok = said && crossed && codeA == 0 && codeB == 0;
        return new TrialResult(ok, elapsed, ok
            ? $"authenticated:\n{pair.Describe()}"
            : $"authenticated, then said '{path.Line}'={said} crossed={crossed} exits={codeA}/{codeB}:\n{pair.Describe()}");
    }
}
