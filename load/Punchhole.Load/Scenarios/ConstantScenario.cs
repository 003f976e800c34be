using System.Globalization;

namespace Punchhole.Load.Scenarios;

/// <summary>Scenario a: C pairings in flight for N pairings or T seconds; the throughput and latency run.</summary>
internal static class ConstantScenario
{
    public static async Task<RunReport> RunAsync(LoadRun run)
    {
        var o = run.Options;
        var tally = new RunTally();
        var loop = new ClosedLoop(run, tally);
        var measurement = Measurement.Start(run);
        using (ProgressLine.Start(() => Status.Line(measurement, tally, loop.Started - tally.Attempts)))
        {
            await loop.RunAsync();
        }
        return measurement.Finish("constant",
            string.Create(CultureInfo.InvariantCulture, $"concurrency={o.Concurrency} pairs={o.Pairs} duration_s={o.Duration.TotalSeconds:0.###} timeout_s={o.Timeout.TotalSeconds:0.###}"),
            tally);
    }
}
