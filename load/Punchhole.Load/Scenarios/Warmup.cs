using System.Globalization;

namespace Punchhole.Load.Scenarios;

/// <summary>
/// A few pairings before the measured run, not counted: they get this tool's code compiled by the
/// JIT, so the first measured pairings do not pay for it (tstun is compiled ahead of time, cpair
/// is C; the load tool alone would otherwise add its start-up to the first latencies).
/// </summary>
internal static class Warmup
{
    public static async Task RunAsync(LoadRun run, int pairings)
    {
        if (pairings <= 0)
        {
            return;
        }
        var tally = new RunTally();
        await new ClosedLoop(run, tally, Math.Min(16, pairings), pairings, run.Options.Timeout).RunAsync();
        if (tally.Errors > 0)
        {
            run.Diagnostics.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"punchhole-load: warm-up: {tally.Errors} of {tally.Attempts} pairings failed ({tally.ErrorSummary()})"));
        }
    }
}
