namespace Punchhole.Load;

/// <summary>What one run (or one step of a ramp) measured, ready to be written out.</summary>
internal sealed class RunReport
{
    public required string Scenario { get; init; }

    /// <summary>The settings that shaped the run, as <c>name=value</c> words.</summary>
    public required string Settings { get; init; }

    public required string Target { get; init; }

    public required RunTally Tally { get; init; }

    /// <summary>The wall-clock time the pairings/s figure is taken over.</summary>
    public required double Seconds { get; init; }

    /// <summary>The watched server's name and pid, or null if none was watched.</summary>
    public string? Server { get; init; }

    public ServerSample? ServerBefore { get; init; }

    public ServerSample? ServerAfter { get; init; }

    /// <summary>CPU this load process (and its children) used, for judging whether the load itself was the limit.</summary>
    public double ClientCpuSeconds { get; init; }

    /// <summary>
    /// Failures that mean the server is wrong, not slow or overloaded: a reply that is missing,
    /// malformed or names the wrong address, or an address given to a client with no partner.
    /// </summary>
    public long Violations { get; init; } = -1;

    /// <summary>Violations among the tally's errors, unless the scenario set more.</summary>
    public long ViolationCount => Violations >= 0 ? Violations
        : Tally.ErrorsOf(ErrorKind.NoReply) + Tally.ErrorsOf(ErrorKind.BadReply)
            + Tally.ErrorsOf(ErrorKind.WrongAddress) + Tally.ErrorsOf(ErrorKind.UnpairedGotReply);

    /// <summary>Figures only this scenario has, as (name, value); they go into the result line too.</summary>
    public List<(string Name, string Value)> Extra { get; } = [];

    /// <summary>Sentences for the reader: what the figures mean in this scenario.</summary>
    public List<string> Notes { get; } = [];

    /// <summary>The steps of a ramp, each a report of its own.</summary>
    public List<RunReport> Steps { get; } = [];

    public double PairsPerSecond => Seconds > 0 ? Tally.Ok / Seconds : 0;

    public double? ServerCpuSeconds => ServerBefore is { } b && ServerAfter is { } a ? a.CpuSeconds - b.CpuSeconds : null;
}
