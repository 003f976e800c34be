using System.Net;

namespace Punchhole.Load;

/// <summary>The four kinds of run.</summary>
internal enum Scenario
{
    Constant,
    Hold,
    Ramp,
    Churn,
}

/// <summary>
/// Everything a run is told on its command line. Every run is bounded twice: by a count
/// (pairings, clients or steps) and by time, with a hard deadline past which the process exits.
/// </summary>
internal sealed record LoadOptions
{
    public Scenario Scenario { get; init; }

    public IPAddress Target { get; init; } = IPAddress.Loopback;

    public int Port { get; init; } = Protocol.TStun.DefaultPort;

    /// <summary>The port the second client of each pairing goes to; 0 for <see cref="Port"/>.</summary>
    public int PartnerPort { get; init; }

    public int Sources { get; init; } = 4;

    /// <summary>The longest one pairing (or one phase of a held pairing) may take.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(10);

    public int? ServerPid { get; init; }

    /// <summary>Pairings run (and not counted) before the measured run; null for the scenario's default.</summary>
    public int? Warmup { get; init; }

    /// <summary>Warm-up pairings in force: none before a hold run, whose first figure is the RSS of a server that has served nothing.</summary>
    public int WarmupPairings => Warmup ?? (Scenario == Scenario.Hold ? 0 : 200);

    /// <summary>A file the results are appended to: CSV when it ends in .csv, else Markdown.</summary>
    public string? OutFile { get; init; }

    // constant and churn

    public int Concurrency { get; init; } = 64;

    public long Pairs { get; init; } = 20_000;

    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(60);

    // hold

    public int Clients { get; init; } = 1000;

    /// <summary>Processes to split the held clients over; 0 picks one per <see cref="ClientsPerProcess"/>.</summary>
    public int Processes { get; init; }

    public TimeSpan Settle { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>True in a child process of a split hold run, which talks to its parent on stdin/stdout.</summary>
    public bool HoldChild { get; init; }

    // ramp

    public int StartRate { get; init; } = 1000;

    public int StepRate { get; init; } = 1000;

    public int MaxRate { get; init; } = 20_000;

    public TimeSpan StepDuration { get; init; } = TimeSpan.FromSeconds(2);

    public double P99ThresholdMs { get; init; } = 10;

    public int MaxInFlight { get; init; } = 4000;

    // churn

    public double UnpairedShare { get; init; } = 0.2;

    public TimeSpan LonelyWait { get; init; } = TimeSpan.FromSeconds(35);

    public int MaxLonely { get; init; } = 2000;

    /// <summary>
    /// Held clients per process: each is two descriptors (it and its partner), and one process may
    /// have at most 20,000 open files here; 9,000 leaves room for the runtime.
    /// </summary>
    public const int ClientsPerProcess = 9000;

    /// <summary>The processes a hold run uses.</summary>
    public int HoldProcesses => Processes > 0 ? Processes : (Clients + ClientsPerProcess - 1) / ClientsPerProcess;

    /// <summary>Descriptors this process needs at its peak, so a run that cannot fit is refused up front.</summary>
    public long DescriptorsNeeded => 64 + Scenario switch
    {
        Scenario.Constant => 2L * Concurrency,
        Scenario.Churn => 2L * Concurrency + MaxLonely,
        Scenario.Ramp => 2L * MaxInFlight,
        // A parent that splits the run holds no clients itself.
        _ => HoldProcesses > 1 && !HoldChild ? 0 : 2L * Clients,
    };

    /// <summary>How long the run may take in all; past it, everything still open is aborted and the process exits.</summary>
    public TimeSpan HardDeadline => Scenario switch
    {
        Scenario.Constant => WarmupTime + Duration + Timeout + TimeSpan.FromSeconds(5),
        Scenario.Churn => WarmupTime + Duration + Timeout + LonelyWait + TimeSpan.FromSeconds(5),
        Scenario.Ramp => WarmupTime + RampSteps * (StepDuration + Timeout + TimeSpan.FromSeconds(1)) + TimeSpan.FromSeconds(5),
        // Opening, settling, completing: each phase has its own timeout; start-up of child processes too.
        _ => WarmupTime + Settle + 3 * Timeout + TimeSpan.FromSeconds(10),
    };

    /// <summary>The warm-up is bounded by one --timeout.</summary>
    private TimeSpan WarmupTime => WarmupPairings > 0 ? Timeout : TimeSpan.Zero;

    public int RampSteps => StartRate > MaxRate ? 0 : (MaxRate - StartRate) / StepRate + 1;
}
