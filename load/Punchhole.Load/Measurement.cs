using System.Diagnostics;

namespace Punchhole.Load;

/// <summary>
/// The frame around a measured stretch of a run: wall clock, the server's RSS and CPU and this
/// process's CPU at its start, and at its end the report that compares them.
/// </summary>
internal sealed class Measurement
{
    private readonly LoadRun _run;
    private readonly TimeSpan _clientCpuBefore;

    private Measurement(LoadRun run)
    {
        _run = run;
        ServerBefore = run.Server?.Sample();
        _clientCpuBefore = ClientCpu();
        Started = Stopwatch.GetTimestamp();
    }

    public long Started { get; }

    public ServerSample? ServerBefore { get; }

    public double ElapsedSeconds => LoadRun.Seconds(Stopwatch.GetTimestamp() - Started);

    public static Measurement Start(LoadRun run) => new(run);

    /// <summary>The report for what was measured since the start (plus the whole CPU time of any child processes).</summary>
    public RunReport Finish(string scenario, string settings, RunTally tally, double childCpuSeconds = 0) => new()
    {
        Scenario = scenario,
        Settings = settings,
        Target = _run.Target.ToString(),
        Tally = tally,
        Seconds = ElapsedSeconds,
        Server = _run.Server is { } s ? $"{s.Name} (pid {s.Pid})" : null,
        ServerBefore = ServerBefore,
        ServerAfter = _run.Server?.Sample(),
        ClientCpuSeconds = (ClientCpu() - _clientCpuBefore).TotalSeconds + childCpuSeconds,
    };

    private static TimeSpan ClientCpu()
    {
        using var self = Process.GetCurrentProcess();
        return self.TotalProcessorTime;
    }
}
