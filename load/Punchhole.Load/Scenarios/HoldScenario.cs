using System.Globalization;

namespace Punchhole.Load.Scenarios;

/// <summary>
/// Scenario b: H clients send their keys and wait, all at once; once they all wait (and a settling
/// pause has passed) the server's RSS is read, then every partner arrives and every pair completes.
/// The server's RSS growth divided by H is its memory per waiting client. More than
/// <see cref="LoadOptions.ClientsPerProcess"/> clients are split over child processes.
/// </summary>
internal static class HoldScenario
{
    public static async Task<RunReport> RunAsync(LoadRun run)
    {
        var o = run.Options;
        int processes = o.HoldProcesses;
        var groups = new List<IHoldGroup>();
        try
        {
            RunTally? local = null;
            if (processes == 1)
            {
                var group = new LocalHoldGroup(run, o.Clients);
                local = group.Tally;
                groups.Add(group);
            }
            else
            {
                for (int p = 0; p < processes; p++)
                {
                    groups.Add(ChildHoldGroup.Start(o, o.Clients / processes + (p < o.Clients % processes ? 1 : 0)));
                }
            }

            var rssBefore = run.Server?.ReadRssKb();
            var opening = Measurement.Start(run);
            int waiting;
            using (ProgressLine.Start(() => string.Create(CultureInfo.InvariantCulture,
                $"{opening.ElapsedSeconds,7:0.0} s  opening {o.Clients} waiting clients in {processes} process(es)")))
            {
                waiting = (await Task.WhenAll(groups.Select(g => g.OpenAsync()))).Sum();
            }
            double openSeconds = opening.ElapsedSeconds;
            // The keys are sent; give the server a moment to have read them all before its memory is read.
            await Task.Delay(o.Settle);
            var rssWaiting = run.Server?.ReadRssKb();

            var completing = Measurement.Start(run);
            RunTally[] tallies;
            using (ProgressLine.Start(() => local is null
                ? string.Create(CultureInfo.InvariantCulture, $"{completing.ElapsedSeconds,7:0.0} s  completing {waiting} pairs")
                : Status.Line(completing, local, waiting - local.Ok)))
            {
                tallies = await Task.WhenAll(groups.Select(g => g.CompleteAsync()));
            }
            var tally = new RunTally();
            foreach (var t in tallies)
            {
                tally.Add(t);
            }

            var report = completing.Finish("hold",
                string.Create(CultureInfo.InvariantCulture, $"clients={o.Clients} processes={processes} settle_ms={o.Settle.TotalMilliseconds:0} timeout_s={o.Timeout.TotalSeconds:0.###}"),
                tally,
                childCpuSeconds: groups.Sum(g => g.ChildCpuSeconds));
            var c = CultureInfo.InvariantCulture;
            report.Extra.Add(("waiting", waiting.ToString(c)));
            report.Extra.Add(("open_s", openSeconds.ToString("0.000", c)));
            if (rssBefore is long before && rssWaiting is long during)
            {
                report.Extra.Add(("rss_before_kb", before.ToString(c)));
                report.Extra.Add(("rss_waiting_kb", during.ToString(c)));
                report.Extra.Add(("rss_growth_bytes_per_waiting_client", waiting > 0 ? ((during - before) * 1024 / waiting).ToString(c) : "n/a"));
            }
            report.Notes.Add("pairs/s and latency are those of the completing phase: every partner arriving at once, at most "
                + $"{LocalHoldGroup.ConnectsAtOnce} connecting at a time per process.");
            report.Notes.Add("RSS growth per waiting client = (RSS with all waiting - RSS before they came) / clients waiting.");
            return report;
        }
        finally
        {
            foreach (var group in groups)
            {
                group.Dispose();
            }
        }
    }

    /// <summary>A child's side of the line protocol described in <see cref="ChildHoldGroup"/>.</summary>
    public static async Task RunAsChildAsync(LoadRun run)
    {
        using var group = new LocalHoldGroup(run, run.Options.Clients);
        int waiting = await group.OpenAsync();
        await Console.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"opened {waiting}"));
        await Console.Out.FlushAsync();
        string? command = await Console.In.ReadLineAsync();
        if (command != "complete")
        {
            // The parent has gone or given up: nothing to complete.
            run.Watchdog.AbortAll();
            return;
        }
        var tally = await group.CompleteAsync();
        double cpu;
        using (var self = System.Diagnostics.Process.GetCurrentProcess())
        {
            cpu = self.TotalProcessorTime.TotalSeconds;
        }
        await Console.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"tally {cpu:0.000} {tally.Serialize()}"));
        await Console.Out.FlushAsync();
    }
}
