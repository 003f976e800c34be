using System.Globalization;
using System.Text;

namespace Punchhole.Load;

/// <summary>
/// Writes a report three ways: plain text for a person, one <c>result key=value ...</c> line for
/// scripts (the keys pairload prints, and more), and a row appended to a CSV file or a section
/// appended to a Markdown file.
/// </summary>
internal static class ReportWriter
{
    private static readonly CultureInfo s_invariant = CultureInfo.InvariantCulture;

    private static readonly string[] s_csvColumns =
    [
        "time", "scenario", "settings", "target", "pairs", "ok", "errors", "secs", "pairs_per_s",
        "p50_ms", "p90_ms", "p99_ms", "p999_ms", "max_ms", "server", "server_rss_before_kb",
        "server_rss_after_kb", "server_cpu_s", "client_cpu_s", "error_kinds", "extra",
    ];

    public static void WriteText(TextWriter output, RunReport report)
    {
        var t = report.Tally;
        output.WriteLine(Invariant($"punchhole-load {report.Scenario}: {report.Target}; {report.Settings}"));
        output.WriteLine(Invariant($"  pairings  {t.Ok} ok, {t.Errors} failed in {report.Seconds:0.000} s: {report.PairsPerSecond:0} pairs/s"));
        output.WriteLine(Invariant($"  latency   p50 {t.LatencyMs(50):0.000} ms, p90 {t.LatencyMs(90):0.000}, p99 {t.LatencyMs(99):0.000}, p99.9 {t.LatencyMs(99.9):0.000}, max {t.MaxLatencyMs:0.000} ms"));
        output.WriteLine($"  errors    {t.ErrorSummary()}");
        if (report.Server is { } server && report.ServerBefore is { } before && report.ServerAfter is { } after)
        {
            double cpu = after.CpuSeconds - before.CpuSeconds;
            output.WriteLine(Invariant($"  server    {server}: rss {before.RssKb} kB -> {after.RssKb} kB, cpu {cpu:0.00} s ({100 * cpu / Math.Max(report.Seconds, 1e-9):0}% of one core)"));
        }
        else
        {
            output.WriteLine("  server    not watched (give --server-pid for its RSS and CPU)");
        }
        output.WriteLine(Invariant($"  client    cpu {report.ClientCpuSeconds:0.00} s"));
        foreach (var (name, value) in report.Extra)
        {
            output.WriteLine($"  {name,-9} {value}");
        }
        if (report.Steps.Count > 0)
        {
            output.WriteLine("  steps     rate/s  started  ok  failed  pairs/s  p50_ms  p99_ms  max_ms  errors");
            foreach (var step in report.Steps)
            {
                var s = step.Tally;
                output.WriteLine(Invariant($"            {step.Settings,-6}  {s.Attempts}  {s.Ok}  {s.Errors}  {step.PairsPerSecond:0}  {s.LatencyMs(50):0.000}  {s.LatencyMs(99):0.000}  {s.MaxLatencyMs:0.000}  {s.ErrorSummary()}"));
            }
        }
        foreach (var note in report.Notes)
        {
            output.WriteLine($"  note      {note}");
        }
        output.WriteLine(ResultLine(report));
    }

    /// <summary>One line of <c>key=value</c> words; the first keys are pairload's, so scripts read both alike.</summary>
    public static string ResultLine(RunReport report)
    {
        var t = report.Tally;
        var line = new StringBuilder("result");
        line.Append(s_invariant, $" scenario={report.Scenario} pairs={t.Attempts} ok={t.Ok} errors={t.Errors} secs={report.Seconds:0.000}");
        line.Append(s_invariant, $" pairs_per_s={report.PairsPerSecond:0} p50_ms={t.LatencyMs(50):0.000} p90_ms={t.LatencyMs(90):0.000}");
        line.Append(s_invariant, $" p99_ms={t.LatencyMs(99):0.000} p999_ms={t.LatencyMs(99.9):0.000} max_ms={t.MaxLatencyMs:0.000}");
        for (int i = 0; i < ErrorKinds.Count; i++)
        {
            long n = t.ErrorsOf((ErrorKind)i);
            if (n > 0)
            {
                line.Append(s_invariant, $" {ErrorKinds.Name((ErrorKind)i)}={n}");
            }
        }
        if (report.ServerAfter is { } after)
        {
            line.Append(s_invariant, $" server_rss_kb={after.RssKb}");
        }
        if (report.ServerCpuSeconds is { } cpu)
        {
            line.Append(s_invariant, $" server_cpu_s={cpu:0.00}");
        }
        line.Append(s_invariant, $" client_cpu_s={report.ClientCpuSeconds:0.00}");
        foreach (var (name, value) in report.Extra)
        {
            line.Append(' ').Append(name).Append('=').Append(value.Replace(' ', '_'));
        }
        return line.ToString();
    }

    /// <summary>Appends the report to <paramref name="path"/>: a CSV row (header first in a new file) or a Markdown section.</summary>
    public static void Append(string path, RunReport report)
    {
        bool csv = path.EndsWith(".csv", StringComparison.OrdinalIgnoreCase);
        bool fresh = !File.Exists(path) || new FileInfo(path).Length == 0;
        using var file = new StreamWriter(path, append: true, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
        string time = DateTime.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", s_invariant);
        if (csv)
        {
            if (fresh)
            {
                file.WriteLine(string.Join(',', s_csvColumns));
            }
            foreach (var step in report.Steps)
            {
                file.WriteLine(CsvRow(time, step));
            }
            file.WriteLine(CsvRow(time, report));
            return;
        }
        file.WriteLine($"### punchhole-load {report.Scenario}, {time}");
        file.WriteLine();
        file.WriteLine($"Target `{report.Target}`, settings `{report.Settings}`.");
        file.WriteLine();
        file.WriteLine("| run | pairs | ok | errors | secs | pairs/s | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | server RSS kB (before → after) | server CPU s |");
        file.WriteLine("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
        foreach (var step in report.Steps)
        {
            file.WriteLine(MarkdownRow(step));
        }
        file.WriteLine(MarkdownRow(report));
        file.WriteLine();
        file.WriteLine($"- errors: {report.Tally.ErrorSummary()}");
        if (report.Server is { } server)
        {
            file.WriteLine($"- server: {server}");
        }
        foreach (var (name, value) in report.Extra)
        {
            file.WriteLine($"- {name}: {value}");
        }
        foreach (var note in report.Notes)
        {
            file.WriteLine($"- {note}");
        }
        file.WriteLine();
    }

    private static string MarkdownRow(RunReport r)
    {
        var t = r.Tally;
        string rss = r.ServerBefore is { } b && r.ServerAfter is { } a ? Invariant($"{b.RssKb} → {a.RssKb}") : "";
        string cpu = r.ServerCpuSeconds is { } c ? c.ToString("0.00", s_invariant) : "";
        string name = r.Steps.Count > 0 ? "all" : r.Scenario == "ramp-step" ? r.Settings : r.Scenario;
        return Invariant($"| {name} | {t.Attempts} | {t.Ok} | {t.Errors} | {r.Seconds:0.000} | {r.PairsPerSecond:0} | {t.LatencyMs(50):0.000} | {t.LatencyMs(90):0.000} | {t.LatencyMs(99):0.000} | {t.LatencyMs(99.9):0.000} | {t.MaxLatencyMs:0.000} | {rss} | {cpu} |");
    }

    private static string CsvRow(string time, RunReport r)
    {
        var t = r.Tally;
        string[] cells =
        [
            time, r.Scenario, r.Settings, r.Target, Invariant($"{t.Attempts}"), Invariant($"{t.Ok}"), Invariant($"{t.Errors}"),
            Invariant($"{r.Seconds:0.000}"), Invariant($"{r.PairsPerSecond:0}"), Invariant($"{t.LatencyMs(50):0.000}"),
            Invariant($"{t.LatencyMs(90):0.000}"), Invariant($"{t.LatencyMs(99):0.000}"), Invariant($"{t.LatencyMs(99.9):0.000}"),
            Invariant($"{t.MaxLatencyMs:0.000}"), r.Server ?? "",
            r.ServerBefore is { } b ? Invariant($"{b.RssKb}") : "", r.ServerAfter is { } a ? Invariant($"{a.RssKb}") : "",
            r.ServerCpuSeconds is { } c ? c.ToString("0.00", s_invariant) : "", Invariant($"{r.ClientCpuSeconds:0.00}"),
            t.ErrorSummary(), string.Join(' ', r.Extra.Select(e => $"{e.Name}={e.Value}")),
        ];
        return string.Join(',', cells.Select(Quote));
    }

    private static string Quote(string cell) =>
        cell.AsSpan().IndexOfAny(",\"\n ") < 0 ? cell : $"\"{cell.Replace("\"", "\"\"", StringComparison.Ordinal)}\"";

    private static string Invariant(FormattableString text) => text.ToString(s_invariant);
}
