using System.Globalization;
using System.Text;

namespace Punchhole.Server.Metrics;

/// <summary>
/// What /metrics shows, in Prometheus's text format (version 0.0.4): every value of the stats line
/// under its metric name (<see cref="Stat.MetricName"/>), the limits in force, and two latency
/// histograms that the pairing path updates lock-free. Rendered only when scraped, on the
/// endpoint's own thread.
/// </summary>
internal sealed class ServerMetrics
{
    /// <summary>Arrival (accept) to the last byte of the key, PROXY header included.</summary>
    public LatencyHistogram KeyRead { get; } = new("tstun_key_read_seconds",
        "Time from a client's accept to the last byte of its key (its PROXY header included).");

    /// <summary>Arrival (accept) to the reply, for both clients of every pair.</summary>
    public LatencyHistogram PairWait { get; } = new("tstun_pair_wait_seconds",
        "Time from a paired client's accept to its reply, for both clients of every pair.");

    /// <summary>Both clients of a pair got their replies: how long each had been there.</summary>
    public void OnPaired(long waiterArrivedAt, long arrivalArrivedAt)
    {
        PairWait.ObserveSince(waiterArrivedAt);
        PairWait.ObserveSince(arrivalArrivedAt);
    }

    /// <summary>The exposition text: <paramref name="values"/> (the stats line now), the limits, the histograms.</summary>
    public string Render(IReadOnlyList<StatValue> values, IReadOnlyList<(string Name, string Help, long Value)> limits)
    {
        var text = new StringBuilder(8192);
        foreach (var (stat, value) in values)
        {
            Write(text, stat.MetricName, stat.Kind == StatKind.Counter ? "counter" : "gauge", stat.Help, value * stat.MetricScale);
        }
        foreach (var (name, help, value) in limits)
        {
            Write(text, name, "gauge", help, value);
        }
        Write(text, KeyRead);
        Write(text, PairWait);
        return text.ToString();
    }

    private static void Write(StringBuilder text, string name, string type, string help, long value) =>
        Header(text, name, type, help).Append(name).Append(' ').Append(value.ToString(CultureInfo.InvariantCulture)).Append('\n');

    private static void Write(StringBuilder text, LatencyHistogram histogram)
    {
        var (counts, sum) = histogram.Read();
        Header(text, histogram.Name, "histogram", histogram.Help);
        long cumulative = 0;
        for (int i = 0; i < LatencyHistogram.FiniteBuckets; i++)
        {
            cumulative += counts[i];
            text.Append(histogram.Name).Append("_bucket{le=\"").Append(Seconds(LatencyHistogram.BoundMicroseconds(i)))
                .Append("\"} ").Append(cumulative.ToString(CultureInfo.InvariantCulture)).Append('\n');
        }
        cumulative += counts[LatencyHistogram.FiniteBuckets];
        text.Append(histogram.Name).Append("_bucket{le=\"+Inf\"} ").Append(cumulative.ToString(CultureInfo.InvariantCulture)).Append('\n');
        text.Append(histogram.Name).Append("_sum ").Append(Seconds(sum)).Append('\n');
        text.Append(histogram.Name).Append("_count ").Append(cumulative.ToString(CultureInfo.InvariantCulture)).Append('\n');
    }

    private static StringBuilder Header(StringBuilder text, string name, string type, string help) =>
        text.Append("# HELP ").Append(name).Append(' ').Append(EscapeHelp(help)).Append('\n')
            .Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');

    /// <summary>Microseconds as exact decimal seconds: 16 -> 0.000016, 67108864 -> 67.108864.</summary>
    internal static string Seconds(long microseconds)
    {
        string whole = (microseconds / 1_000_000).ToString(CultureInfo.InvariantCulture);
        string fraction = (microseconds % 1_000_000).ToString("D6", CultureInfo.InvariantCulture).TrimEnd('0');
        return fraction.Length == 0 ? whole : $"{whole}.{fraction}";
    }

    // In HELP text, a backslash and a line feed must be escaped.
    private static string EscapeHelp(string help) => help.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);
}
