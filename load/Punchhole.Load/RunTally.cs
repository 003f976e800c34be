using System.Globalization;
using System.Text;
using HdrHistogram;

namespace Punchhole.Load;

/// <summary>
/// What a run (or one step of it) produced: successes with their latencies in an HdrHistogram
/// (microseconds, 3 significant digits), and failures counted by kind. Safe to record into from
/// any thread. It travels between processes as one line of text (see <see cref="Serialize"/>).
/// </summary>
internal sealed class RunTally
{
    /// <summary>Latencies up to an hour are tracked; no run here is allowed to last that long.</summary>
    private const long HighestMicroseconds = 3_600_000_000;

    private readonly long[] _errors = new long[ErrorKinds.Count];
    private long _ok;

    public LongConcurrentHistogram Latency { get; } = new(1, HighestMicroseconds, 3);

    public long Ok => Volatile.Read(ref _ok);

    public long Errors
    {
        get
        {
            long sum = 0;
            for (int i = 0; i < _errors.Length; i++)
            {
                sum += Volatile.Read(ref _errors[i]);
            }
            return sum;
        }
    }

    public long Attempts => Ok + Errors;

    public long ErrorsOf(ErrorKind kind) => Volatile.Read(ref _errors[(int)kind]);

    /// <summary>Records a success that took <paramref name="elapsedTicks"/> Stopwatch ticks.</summary>
    public void RecordOk(long elapsedTicks)
    {
        long micros = Math.Clamp(elapsedTicks * 1_000_000 / System.Diagnostics.Stopwatch.Frequency, 1, HighestMicroseconds);
        Latency.RecordValue(micros);
        Interlocked.Increment(ref _ok);
    }

    public void RecordError(ErrorKind kind) => Interlocked.Increment(ref _errors[(int)kind]);

    /// <summary>The latency at <paramref name="percentile"/> (0-100) in milliseconds; 0 with no successes.</summary>
    public double LatencyMs(double percentile) => Ok == 0 ? 0 : Latency.GetValueAtPercentile(percentile) / 1000.0;

    public double MaxLatencyMs => Ok == 0 ? 0 : Latency.GetMaxValue() / 1000.0;

    /// <summary>The errors as <c>kind=count</c> words, or "none".</summary>
    public string ErrorSummary()
    {
        var words = new List<string>();
        for (int i = 0; i < _errors.Length; i++)
        {
            if (_errors[i] > 0)
            {
                words.Add(string.Create(CultureInfo.InvariantCulture, $"{ErrorKinds.Name((ErrorKind)i)}={_errors[i]}"));
            }
        }
        return words.Count == 0 ? "none" : string.Join(' ', words);
    }

    /// <summary>Adds another tally's counts and latencies to this one.</summary>
    public void Add(RunTally other)
    {
        Interlocked.Add(ref _ok, other.Ok);
        for (int i = 0; i < _errors.Length; i++)
        {
            Interlocked.Add(ref _errors[i], other._errors[i]);
        }
        Latency.Add(other.Latency);
    }

    /// <summary>
    /// One line: <c>ok=N err=c0,c1,... lat=value:count,...</c>, the histogram as its recorded
    /// values (already bucketed to 3 digits, so a few thousand pairs at most).
    /// </summary>
    public string Serialize()
    {
        var line = new StringBuilder();
        line.Append(CultureInfo.InvariantCulture, $"ok={Ok} err=").AppendJoin(',', _errors).Append(" lat=");
        bool first = true;
        foreach (var value in Latency.RecordedValues())
        {
            line.Append(first ? "" : ",").Append(CultureInfo.InvariantCulture, $"{value.ValueIteratedTo}:{value.CountAtValueIteratedTo}");
            first = false;
        }
        return line.ToString();
    }

    /// <summary>Reads a line written by <see cref="Serialize"/>; throws FormatException on anything else.</summary>
    public static RunTally Parse(string line)
    {
        var tally = new RunTally();
        foreach (var word in line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            int eq = word.IndexOf('=', StringComparison.Ordinal);
            string name = eq > 0 ? word[..eq] : throw new FormatException($"not name=value: '{word}'");
            string value = word[(eq + 1)..];
            switch (name)
            {
                case "ok":
                    tally._ok = long.Parse(value, CultureInfo.InvariantCulture);
                    break;
                case "err":
                    var counts = value.Split(',');
                    for (int i = 0; i < Math.Min(counts.Length, tally._errors.Length); i++)
                    {
                        tally._errors[i] = long.Parse(counts[i], CultureInfo.InvariantCulture);
                    }
                    break;
                case "lat":
                    foreach (var pair in value.Split(',', StringSplitOptions.RemoveEmptyEntries))
                    {
                        int colon = pair.IndexOf(':', StringComparison.Ordinal);
                        tally.Latency.RecordValueWithCount(
                            long.Parse(pair[..colon], CultureInfo.InvariantCulture),
                            long.Parse(pair[(colon + 1)..], CultureInfo.InvariantCulture));
                    }
                    break;
                default:
                    throw new FormatException($"unknown field '{name}'");
            }
        }
        return tally;
    }
}
