using System.Diagnostics;
using System.Numerics;

namespace Punchhole.Server.Metrics;

/// <summary>
/// A Prometheus histogram of durations, updated lock-free in a few instructions: the bucket is the
/// bit length of the duration in microseconds, so bucket bounds double from 16 µs to 2^26 µs
/// (about 67 s), and an observation is one clock read, a leading-zero count and two atomic
/// additions. No lock, no allocation, no search over bounds.
/// </summary>
internal sealed class LatencyHistogram
{
    /// <summary>The first bucket's upper bound is 2^<see cref="FirstShift"/> µs.</summary>
    private const int FirstShift = 4;

    /// <summary>The last finite bucket's upper bound is 2^<see cref="LastShift"/> µs.</summary>
    private const int LastShift = 26;

    /// <summary>Buckets with a finite bound; one more counts everything above the last.</summary>
    public const int FiniteBuckets = LastShift - FirstShift + 1;

    private static readonly double s_microsecondsPerTick = 1_000_000.0 / Stopwatch.Frequency;

    private readonly long[] _counts = new long[FiniteBuckets + 1];
    private long _sumMicroseconds;

    public LatencyHistogram(string name, string help)
    {
        Name = name;
        Help = help;
    }

    public string Name { get; }

    public string Help { get; }

    /// <summary>The upper bound of finite bucket <paramref name="i"/>, in microseconds.</summary>
    public static long BoundMicroseconds(int i) => 1L << (FirstShift + i);

    /// <summary>Counts the time from <paramref name="startTimestamp"/> (a <see cref="Stopwatch.GetTimestamp"/>) to now.</summary>
    public void ObserveSince(long startTimestamp) =>
        Observe((long)((Stopwatch.GetTimestamp() - startTimestamp) * s_microsecondsPerTick));

    /// <summary>Counts one duration of <paramref name="microseconds"/>.</summary>
    public void Observe(long microseconds)
    {
        microseconds = Math.Max(0, microseconds);
        // The smallest i with microseconds <= 2^(FirstShift + i): the bit length of (microseconds - 1).
        int bits = 64 - BitOperations.LeadingZeroCount((ulong)Math.Max(0, microseconds - 1));
        int bucket = Math.Clamp(bits - FirstShift, 0, FiniteBuckets);
        Interlocked.Increment(ref _counts[bucket]);
        Interlocked.Add(ref _sumMicroseconds, microseconds);
    }

    /// <summary>The per-bucket counts (not cumulative; the last is above every bound) and the sum, read now.</summary>
    public (long[] Counts, long SumMicroseconds) Read()
    {
        var counts = new long[_counts.Length];
        for (int i = 0; i < counts.Length; i++)
        {
            counts[i] = Volatile.Read(ref _counts[i]);
        }
        return (counts, Volatile.Read(ref _sumMicroseconds));
    }
}
