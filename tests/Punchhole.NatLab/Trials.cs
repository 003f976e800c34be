using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace Punchhole.NatLab;

/// <summary>
/// The N-trial measurement (`natlab trials 20`): per variant, how many of N punches worked (or, for
/// the random-port NAT, failed cleanly within 15 s) and the median time from start to connected.
/// The shared-NAT rows run secure clients, which must also say the path they took.
/// </summary>
internal static class Trials
{
    public const string Begin = "<!-- natlab-trials:begin -->";
    public const string End = "<!-- natlab-trials:end -->";

    private static readonly Row[] s_rows =
    [
        new("drop", LabVariant.Drop, AddressFamily.InterNetwork, ExpectFailure: false, AllowedMisses: 0),
        new("v6", LabVariant.Drop, AddressFamily.InterNetworkV6, ExpectFailure: false, AllowedMisses: 0),
        new("rst", LabVariant.Reset, AddressFamily.InterNetwork, ExpectFailure: false, AllowedMisses: 0),
        new("rst-v6", LabVariant.Reset, AddressFamily.InterNetworkV6, ExpectFailure: false, AllowedMisses: 0),
        new("random-port", LabVariant.RandomPort, AddressFamily.InterNetwork, ExpectFailure: true, AllowedMisses: 0),
        new("public-peer", LabVariant.PublicPeer, AddressFamily.InterNetwork, ExpectFailure: false, AllowedMisses: 0),
        new("mixed", LabVariant.Mixed, AddressFamily.InterNetwork, ExpectFailure: false, AllowedMisses: 0),
        new("mixed-v6", LabVariant.Mixed, AddressFamily.InterNetworkV6, ExpectFailure: false, AllowedMisses: 0),
        new("same-nat-drop", LabVariant.SameNatDrop, AddressFamily.InterNetwork, ExpectFailure: false, AllowedMisses: 0) { Secure = ExpectedPath.Lan },
        new("same-nat-rst", LabVariant.SameNatReset, AddressFamily.InterNetwork, ExpectFailure: false, AllowedMisses: 0) { Secure = ExpectedPath.Lan },
        new("same-nat-v6", LabVariant.SameNatDrop, AddressFamily.InterNetworkV6, ExpectFailure: false, AllowedMisses: 0) { Secure = ExpectedPath.Lan },
        new("carrier-nat", LabVariant.CarrierNat, AddressFamily.InterNetwork, ExpectFailure: false, AllowedMisses: 0)
        {
            Secure = ExpectedPath.Relayed,
            TStunOptions = ["--relay"],
        },
        new("random-port-relay", LabVariant.RandomPort, AddressFamily.InterNetwork, ExpectFailure: false, AllowedMisses: 0)
        {
            Secure = ExpectedPath.Relayed,
            TStunOptions = ["--relay"],
        },
    ];

    public static async Task<int> RunAsync(Options options)
    {
        int trials = options.Count(20);
        var rows = options.Variants.Count == 0
            ? s_rows
            : [.. options.Variants.Select(name => s_rows.FirstOrDefault(r => r.Name == name)
                ?? throw new ArgumentException($"unknown variant '{name}' (one of: {string.Join(", ", s_rows.Select(r => r.Name))})"))];
        foreach (string binary in new[] { options.TStun, options.Punchhole })
        {
            if (!File.Exists(binary))
            {
                throw new LabException($"{binary} is missing: run scripts/publish.sh first");
            }
        }

        var results = new List<(Row Row, List<TrialResult> Trials)>();
        var synLines = new List<string>();
        foreach (var row in rows)
        {
            var list = new List<TrialResult>();
            using (var lab = Lab.Create(row.Variant, options.TStun, row.TStunOptions))
            {
                options.AddDelayLine(lab);
                using var syns = row.Variant is LabVariant.Drop or LabVariant.Reset or LabVariant.Mixed ? new SynCounter(lab, row.Family) : null;
                var synRates = new SynRates();
                for (int i = 1; i <= trials; i++)
                {
                    var before = syns?.Read();
                    TrialResult result;
                    try
                    {
                        result = row.ExpectFailure
                            ? await PunchTrial.FailCleanlyAsync(lab, options.Punchhole, row.Family)
                            : row.Secure is { } path
                                ? await SecureTrial.ConnectAsync(lab, options.Punchhole, row.Family, path)
                                : await PunchTrial.ConnectAsync(lab, options.Punchhole, row.Family);
                    }
                    catch (IOException e)
                    {
                        result = new TrialResult(false, TimeSpan.Zero, $"broken pipe: {e.Message}");
                    }
                    list.Add(result);
                    string counted = "";
                    if (syns is not null && before is { } start)
                    {
                        var (a, b) = syns.Read();
                        synRates.Add(a - start.A, b - start.B, result.Elapsed);
                        counted = $", SYNs at router-a/router-b {a - start.A}/{b - start.B}";
                    }
                    Console.Error.WriteLine($"natlab: {row.Name} trial {i}/{trials}: {(result.Ok ? "ok" : "FAILED")} {result.Seconds} s{counted}{(result.Ok && !options.Verbose ? "" : "\n" + result.Detail)}");
                }
                if (syns is not null)
                {
                    synLines.Add($"{row.Name}{(lab.DelayLines.Count > 0 ? $" ({string.Join(", ", lab.DelayLines)})" : "")}: {synRates}");
                }
            }
            results.Add((row, list));
        }

        string table = Table(results, trials);
        Console.WriteLine(table);
        foreach (string line in synLines)
        {
            Console.WriteLine($"SYNs counted at the NATs, {line}");
        }
        if (options.Markdown is not null)
        {
            WriteInto(options.Markdown, table);
            Console.Error.WriteLine($"natlab: table written into {options.Markdown}");
        }
        return results.All(r => r.Row.Met(r.Trials, trials)) ? 0 : 1;
    }

    private static string Table(List<(Row Row, List<TrialResult> Trials)> results, int trials)
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"Measured {DateTime.UtcNow:yyyy-MM-dd} with `scripts/natlab-trials.sh {trials}` on {Machine()}.");
        text.AppendLine();
        text.AppendLine("| variant | family | outcome counted | result | bar | median | max |");
        text.AppendLine("|---|---|---|---|---|---|---|");
        foreach (var (row, list) in results)
        {
            int ok = list.Count(t => t.Ok);
            var times = list.Where(t => t.Ok).Select(t => t.Elapsed.TotalSeconds).Order().ToArray();
            string median = times.Length == 0 ? "–" : Format(Median(times));
            string max = times.Length == 0 ? "–" : Format(times[^1]);
            string counted = row.ExpectFailure
                ? "clean failures (exit 1, diagnosis), start → exit"
                : row.Secure is { } path
                    ? $"secure sessions saying `{path.Line.TrimEnd('(', ' ')}` (a line each way, exit 0), start → authenticated"
                    : "punches (connected, a line each way, exit 0), start → connected";
            text.AppendLine(CultureInfo.InvariantCulture,
                $"| {row.Name} | {(row.Family == AddressFamily.InterNetworkV6 ? "IPv6" : "IPv4")} | {counted} | **{ok}/{trials}** {(row.Met(list, trials) ? "✓" : "✗")} | {row.Bar(trials)} | {median} | {max} |");
        }
        return text.ToString();
    }

    private static double Median(double[] sorted) =>
        sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;

    private static string Format(double seconds) => seconds.ToString("0.000", CultureInfo.InvariantCulture) + " s";

    private static string Machine()
    {
        string kernel = File.Exists("/proc/sys/kernel/osrelease") ? File.ReadAllText("/proc/sys/kernel/osrelease").Trim() : "?";
        string commit = Command.TryRun("git", ["-C", Repository.Root, "rev-parse", "--short", "HEAD"], out string head) ? head.Trim() : "?";
        return $"Linux {kernel}, {Environment.ProcessorCount} cores, commit {commit}";
    }

    /// <summary>Replaces the text between the markers in <paramref name="path"/> with <paramref name="table"/>.</summary>
    private static void WriteInto(string path, string table)
    {
        string text = File.ReadAllText(path);
        int begin = text.IndexOf(Begin, StringComparison.Ordinal);
        int end = text.IndexOf(End, StringComparison.Ordinal);
        if (begin < 0 || end < begin)
        {
            throw new LabException($"{path} has no {Begin} ... {End} block");
        }
        File.WriteAllText(path, string.Concat(text.AsSpan(0, begin + Begin.Length), "\n", table, text.AsSpan(end)));
    }

    private sealed record Row(string Name, LabVariant Variant, AddressFamily Family, bool ExpectFailure, int AllowedMisses)
    {
        /// <summary>Secure clients (T-STUN/2), and the path they must say; null: --plain punches.</summary>
        public ExpectedPath? Secure { get; init; }

        public string[] TStunOptions { get; init; } = [];

        /// <summary>At most one miss in 20 where one is allowed.</summary>
        private int Needed(int trials) => trials - (AllowedMisses * trials / 20);

        public bool Met(List<TrialResult> results, int trials) => results.Count(r => r.Ok) >= Needed(trials);

        public string Bar(int trials) => (Needed(trials) == trials ? $"{trials}/{trials}" : $"≥ {Needed(trials)}/{trials}")
            + (ExpectFailure ? ", each within 15 s" : "");
    }
}
