using System.Diagnostics;

namespace Punchhole.Client.Punch;

/// <summary>
/// The spacing of a punch's SYNs: each attempt starts at least <see cref="Spacing"/> after the
/// previous one started, plus up to <see cref="Jitter"/>, so a punch sends at most 200 SYNs a
/// second whatever answers them. A NAT that resets unsolicited SYNs answers each in one round
/// trip, and retrying at once sent about 14,500 a second at a NAT a few microseconds away. On a
/// real path the two sides' SYNs cross once both are between the NATs at once, a window as wide
/// as the NAT-to-NAT round trip (milliseconds), which a SYN every 5 to 8 ms still meets. The
/// jitter keeps two clients from settling into one rhythm in which each SYN always meets the
/// other's reset.
/// </summary>
internal sealed class SynPacing
{
    public static readonly TimeSpan Spacing = TimeSpan.FromMilliseconds(5);

    public static readonly TimeSpan Jitter = TimeSpan.FromMilliseconds(3);

    private long _lastStart;

    /// <summary>Notes that an attempt (a SYN) starts now.</summary>
    public void Started() => _lastStart = Stopwatch.GetTimestamp();

    /// <summary>How long to wait before the next attempt may start.</summary>
    public TimeSpan Pause()
    {
        if (_lastStart == 0)
        {
            return TimeSpan.Zero;
        }
        var due = Spacing + (Jitter * Random.Shared.NextDouble());
        double left = (due - Stopwatch.GetElapsedTime(_lastStart)).TotalMilliseconds;
        // Whole milliseconds, rounded up: a timer waits whole milliseconds, and rounding down
        // would let an attempt start early.
        return left > 0 ? TimeSpan.FromMilliseconds(Math.Ceiling(left)) : TimeSpan.Zero;
    }
}
