using System.Globalization;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text.RegularExpressions;

namespace Punchhole.NatLab;

/// <summary>
/// Two punchhole clients started at the same moment, one on each client host, with one fresh KEY
/// and the lab's tstun: `punchhole -4|-6 -T SERVER [args] KEY`.
/// </summary>
public sealed partial class PunchPair : IDisposable
{
    private PunchPair(Lab lab, LabProcess a, LabProcess b, TimeSpan started)
    {
        Lab = lab;
        A = a;
        B = b;
        Started = started;
    }

    public Lab Lab { get; }

    /// <summary>The client on client-a.</summary>
    public LabProcess A { get; }

    /// <summary>The client on client-b.</summary>
    public LabProcess B { get; }

    /// <summary>When the pair was started, on the lab's clock.</summary>
    public TimeSpan Started { get; }

    /// <summary>
    /// Starts the two clients. Without <c>secure</c> they run --plain, so the lab measures the punch
    /// itself, as the original makes it, with no Argon2id before the rendezvous nor a handshake after
    /// it, and -L carries one connection. With it they run the secure mode with a fresh code, which
    /// speaks T-STUN/2 and may use tstun's relay.
    /// </summary>
    public static PunchPair Start(Lab lab, string punchhole, AddressFamily family, string[]? argsA = null, string[]? argsB = null, bool secure = false)
    {
        string key = secure
            ? $"{RandomNumberGenerator.GetInt32(100_000, 1_000_000)}-aban-abel-abir"
            : "natlab " + Convert.ToHexString(RandomNumberGenerator.GetBytes(8));
        string[] Args(string[]? extra) =>
        [
            family == AddressFamily.InterNetworkV6 ? "-6" : "-4",
            "-T", Lab.ServerAddress(family).ToString(),
            .. secure ? Array.Empty<string>() : ["--plain"],
            .. extra ?? [],
            key,
        ];
        var started = lab.Clock.Elapsed;
        var a = lab.Start(lab.ClientA, punchhole, Args(argsA));
        var b = lab.Start(lab.ClientB, punchhole, Args(argsB));
        return new PunchPair(lab, a, b, started);
    }

    /// <summary>The client's line for a punch that worked: "punchhole: connected to ...".</summary>
    public static bool IsConnected(string line) => line.StartsWith("punchhole: connected", StringComparison.Ordinal);

    /// <summary>The diagnosis the client gives when no SYN of the peer ever arrived (a symmetric NAT).</summary>
    public static bool IsSymmetricNatDiagnosis(string line) =>
        line.StartsWith("punchhole: ", StringComparison.Ordinal) && SymmetricNat().IsMatch(line);

    /// <summary>Waits until both clients printed their "connected" line; the later one's time from the start, or null.</summary>
    public async Task<TimeSpan?> WaitConnectedAsync(TimeSpan wait)
    {
        var a = A.WaitForLineAsync(IsConnected, wait);
        var b = B.WaitForLineAsync(IsConnected, wait);
        var (lineA, lineB) = (await a, await b);
        if (lineA is null || lineB is null)
        {
            return null;
        }
        return (lineA.Value.At > lineB.Value.At ? lineA.Value.At : lineB.Value.At) - Started;
    }

    /// <summary>Waits for both to exit; their codes (null for one still running) and the later exit time from the start.</summary>
    public async Task<(int? A, int? B, TimeSpan Elapsed)> WaitExitAsync(TimeSpan wait)
    {
        var a = A.WaitForExitAsync(wait);
        var b = B.WaitForExitAsync(wait);
        var (codeA, codeB) = (await a, await b);
        var last = new[] { A.Exited, B.Exited }.Max() ?? Lab.Clock.Elapsed;
        return (codeA, codeB, last - Started);
    }

    /// <summary>Both clients' stderr, for failure messages.</summary>
    public string Describe() => $"{A.Describe()}\n{B.Describe()}";

    public void Dispose()
    {
        A.Dispose();
        B.Dispose();
    }

    [GeneratedRegex("symmetric NAT|no SYN", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex SymmetricNat();
}

/// <summary>The outcome of one trial: a punch and a line each way, or, where no punch is possible, a clean failure.</summary>
public sealed record TrialResult(bool Ok, TimeSpan Elapsed, string Detail)
{
    public string Seconds => Elapsed.TotalSeconds.ToString("0.000", CultureInfo.InvariantCulture);
}

public static class PunchTrial
{
    /// <summary>The bar for a clean failure: both clients out, non-zero, with the diagnosis, within this.</summary>
    public static readonly TimeSpan FailureBound = TimeSpan.FromSeconds(15);

    private static readonly TimeSpan ConnectBound = TimeSpan.FromSeconds(20);

    /// <summary>
    /// One punch in <paramref name="lab"/>: both clients started together; OK when both print
    /// "connected", a line crosses each way and both exit 0. Elapsed is the start-to-connected time.
    /// </summary>
    public static async Task<TrialResult> ConnectAsync(Lab lab, string punchhole, AddressFamily family)
    {
        using var pair = PunchPair.Start(lab, punchhole, family);
        var connected = await pair.WaitConnectedAsync(ConnectBound);
        if (connected is null)
        {
            return new TrialResult(false, lab.Clock.Elapsed - pair.Started, $"no punch:\n{pair.Describe()}");
        }
        var (crossed, codeA, codeB) = await pair.PingAndEndAsync(TimeSpan.FromSeconds(10));
        bool ok = crossed && codeA == 0 && codeB == 0;
        return new TrialResult(ok, connected.Value, ok ? $"connected:\n{pair.Describe()}" : $"connected, then crossed={crossed} exits={codeA}/{codeB}:\n{pair.Describe()}");
    }

    /// <summary>
    /// One attempt where no punch is possible (a symmetric NAT): OK when both clients exit non-zero
    /// with the diagnosis, without a "connected" line or data, within <see cref="FailureBound"/>.
    /// Elapsed is the start-to-last-exit time.
    /// </summary>
    public static async Task<TrialResult> FailCleanlyAsync(Lab lab, string punchhole, AddressFamily family)
    {
        using var pair = PunchPair.Start(lab, punchhole, family);
        var (codeA, codeB, elapsed) = await pair.WaitExitAsync(FailureBound + TimeSpan.FromSeconds(10));
        pair.A.CloseStdin();
        pair.B.CloseStdin();
        bool diagnosed = pair.A.StderrLines.Any(l => PunchPair.IsSymmetricNatDiagnosis(l.Text))
            && pair.B.StderrLines.Any(l => PunchPair.IsSymmetricNatDiagnosis(l.Text));
        bool connected = pair.A.StderrLines.Concat(pair.B.StderrLines).Any(l => PunchPair.IsConnected(l.Text));
        bool ok = codeA is not null and not 0 && codeB is not null and not 0 && diagnosed && !connected
            && pair.A.StdoutLength == 0 && pair.B.StdoutLength == 0 && elapsed <= FailureBound;
        return new TrialResult(ok, elapsed, ok ? $"exit {codeA}/{codeB} with the diagnosis:\n{pair.Describe()}" : $"exits={codeA}/{codeB} diagnosed={diagnosed} connected={connected}:\n{pair.Describe()}");
    }
}
