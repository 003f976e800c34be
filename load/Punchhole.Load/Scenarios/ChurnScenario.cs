using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;

namespace Punchhole.Load.Scenarios;

/// <summary>
/// Scenario d: honest pairings (C in flight, as in scenario a) mixed with clients whose keys
/// nobody else sends, in the share --unpaired-share of all keys. Those must get no reply and be
/// closed at the server's --timeout; meanwhile they hold a descriptor and a table slot each,
/// which is the churn the honest pairings must be served through.
/// </summary>
internal static class ChurnScenario
{
    public static async Task<RunReport> RunAsync(LoadRun run)
    {
        var o = run.Options;
        var tally = new RunTally();
        var lonelyTally = new RunTally();
        var idle = new ConcurrentBag<LonelyClient>();
        var credits = new double[o.Concurrency];
        // Unpaired keys per honest pairing (one key each), so that they make up the share asked for of all keys.
        double perPairing = o.UnpairedShare / (1 - o.UnpairedShare);
        int created = 0, inFlight = 0;
        long skipped = 0;

        void LaunchLonely()
        {
            if (!idle.TryTake(out var lonely))
            {
                if (Interlocked.Increment(ref created) > o.MaxLonely)
                {
                    Interlocked.Decrement(ref created);
                    Interlocked.Increment(ref skipped);
                    return;
                }
                lonely = run.Watchdog.Watch(new LonelyClient());
            }
            Interlocked.Increment(ref inFlight);
            _ = RunLonelyAsync(lonely);
        }

        async Task RunLonelyAsync(LonelyClient lonely)
        {
            long started = Stopwatch.GetTimestamp();
            var error = await lonely.RunAsync(run.Target, o.LonelyWait);
            if (error is { } kind)
            {
                lonelyTally.RecordError(kind);
            }
            else
            {
                lonelyTally.RecordOk(Stopwatch.GetTimestamp() - started);
            }
            idle.Add(lonely);
            Interlocked.Decrement(ref inFlight);
        }

        var loop = new ClosedLoop(run, tally);
        var measurement = Measurement.Start(run);
        using (ProgressLine.Start(() => Status.Line(measurement, tally, loop.Started - tally.Attempts,
            string.Create(CultureInfo.InvariantCulture, $"  unpaired waiting {Volatile.Read(ref inFlight)} closed {lonelyTally.Ok}"))))
        {
            await loop.RunAsync(worker =>
            {
                // Each worker keeps its own credit, so no shared counter is contended.
                credits[worker] += perPairing;
                while (credits[worker] >= 1)
                {
                    credits[worker] -= 1;
                    LaunchLonely();
                }
            });
            var honestDone = measurement.ElapsedSeconds;
            // The unpaired clients still open wait for the server to close them, up to --lonely-wait.
            var drainUntil = Stopwatch.GetTimestamp() + LoadRun.Ticks(o.LonelyWait + TimeSpan.FromSeconds(1));
            while (Volatile.Read(ref inFlight) > 0 && Stopwatch.GetTimestamp() < drainUntil && !run.Stopping)
            {
                await Task.Delay(50);
            }
            var report = measurement.Finish("churn",
                string.Create(CultureInfo.InvariantCulture, $"concurrency={o.Concurrency} pairs={o.Pairs} duration_s={o.Duration.TotalSeconds:0.###} unpaired_share={o.UnpairedShare:0.###} lonely_wait_s={o.LonelyWait.TotalSeconds:0.###}"),
                tally);
            return WithLonely(report, lonelyTally, skipped, honestDone);
        }
    }

    /// <summary>The report's throughput is the honest pairings' over their own time; the unpaired clients get their own figures.</summary>
    private static RunReport WithLonely(RunReport report, RunTally lonely, long skipped, double honestSeconds)
    {
        var honest = new RunReport
        {
            Scenario = report.Scenario,
            Settings = report.Settings,
            Target = report.Target,
            Tally = report.Tally,
            Seconds = honestSeconds,
            Server = report.Server,
            ServerBefore = report.ServerBefore,
            ServerAfter = report.ServerAfter,
            ClientCpuSeconds = report.ClientCpuSeconds,
            Violations = report.ViolationCount + lonely.ErrorsOf(ErrorKind.UnpairedGotReply),
        };
        var c = CultureInfo.InvariantCulture;
        honest.Extra.Add(("unpaired", lonely.Attempts.ToString(c)));
        honest.Extra.Add(("unpaired_closed_without_reply", lonely.Ok.ToString(c)));
        honest.Extra.Add(("unpaired_errors", lonely.ErrorSummary()));
        honest.Extra.Add(("unpaired_closed_after_p50_ms", lonely.LatencyMs(50).ToString("0", c)));
        honest.Extra.Add(("unpaired_closed_after_max_ms", lonely.MaxLatencyMs.ToString("0", c)));
        honest.Extra.Add(("unpaired_skipped_at_cap", skipped.ToString(c)));
        honest.Notes.Add("pairs/s counts the honest pairings over their own run; the unpaired clients are then waited for, and the server's CPU and RSS cover both.");
        honest.Notes.Add("an unpaired client succeeds when the server closes it with no reply; a server with no timeout (cpair) leaves them to time out here.");
        if (lonely.ErrorsOf(ErrorKind.UnpairedGotReply) > 0)
        {
            honest.Notes.Add("UNPAIRED CLIENTS WERE GIVEN AN ADDRESS: a pairing leaked to a third party.");
        }
        return honest;
    }
}
