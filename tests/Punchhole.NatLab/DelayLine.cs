namespace Punchhole.NatLab;

/// <summary>
/// A one-way delay on every packet an ISP's router forwards (<see cref="Lab.AddDelayLine"/>):
/// the kernel has no netem here, so the packets take a detour through a TUN device whose reader
/// (<c>natlab delay</c>, <see cref="PacketDelay"/>) holds each one for the delay before handing it
/// back. Disposing it removes the detour (traffic flows undelayed again) and ends the program;
/// the lab's teardown does the same.
/// </summary>
public sealed class DelayLine : IDisposable
{
    private readonly Action _remove;
    private int _disposed;

    internal DelayLine(LabHost isp, TimeSpan oneWay, LabProcess process, Action remove)
    {
        Isp = isp;
        OneWay = oneWay;
        Process = process;
        _remove = remove;
    }

    /// <summary>The router whose forwarded packets are delayed.</summary>
    public LabHost Isp { get; }

    /// <summary>The delay each packet gets, in either direction.</summary>
    public TimeSpan OneWay { get; }

    /// <summary>The delay program; its stderr carries one line of counters a second while they change.</summary>
    public LabProcess Process { get; }

    /// <summary>True while the program runs (if it died, the ISP answers the affected traffic with "network unreachable").</summary>
    public bool IsRunning => !Process.HasExited;

    /// <summary>Removes the detour, then ends the program.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        _remove();
        Process.CloseStdin();
        if (Process.WaitForExitAsync(TimeSpan.FromSeconds(5)).GetAwaiter().GetResult() is null)
        {
            Process.Kill();
        }
    }

    public override string ToString() => $"{OneWay.TotalMilliseconds} ms one way at {Isp.Role}";
}
