using Punchhole.NatLab;

namespace Punchhole.Tests.NatLab;

/// <summary>
/// A real path's delay for punches against resetting NATs. The client paces its SYNs (at most 200
/// a second), and two SYNs cross only while both are between the NATs at once: a window as wide as
/// the NAT-to-NAT round trip. Without delay the lab's round trip is microseconds, and paced SYNs
/// meet it only by luck (punches of 3 to 10 s); with milliseconds, as on any real path, at once.
/// </summary>
internal static class PathDelay
{
    /// <summary>Each way at isp-a: 20 ms more on every round trip between the two sites.</summary>
    public static readonly TimeSpan OneWay = TimeSpan.FromMilliseconds(10);

    /// <summary>A delay line at isp-a for the test's duration (disposing it removes it).</summary>
    public static DelayLine Add(Lab lab) => lab.AddDelayLine(lab.IspA, OneWay);
}
