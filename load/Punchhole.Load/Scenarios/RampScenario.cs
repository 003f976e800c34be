using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;

namespace Punchhole.Load.Scenarios;

/// <summary>
/// Scenario c: an open loop. Pairings are started at a fixed rate whether or not earlier ones have
/// finished, as independent users arrive, and each one's latency counts from when it was due to
/// start (so a stalled server cannot hide its queue: no coordinated omission). The rate rises step
/// by step; the run reports the first rate at which p99 passes --p99-ms or pairings fail.
/// </summary>
internal static class RampScenario
{
    public static async Task<RunReport> RunAsync(LoadRun run)
    {
        var o = run.Options;
        var all = new RunTally();
        var idle = new ConcurrentBag<Pairing>();
        var steps = new List<RunReport>();
        int? knee = null, lastGood = null;
        var measurement = Measurement.Start(run);
        var current = new RunTally();
        int inFlight = 0, created = 0;

        using (ProgressLine.Start(() => Status.Line(measurement, current, Volatile.Read(ref inFlight))))
        {
            for (int step = 0; step < o.RampSteps && !run.Stopping; step++)
            {
                int rate = o.StartRate + step * o.StepRate;
                var tally = new RunTally();
                current = tally;
                var stepMeasurement = Measurement.Start(run);

                async Task RunOneAsync(Pairing pairing, long due)
                {
                    var error = await pairing.RunAsync(run.Target, o.Timeout);
                    run.Record(tally, pairing, error, Stopwatch.GetTimestamp() - due);
                    idle.Add(pairing);
                    Interlocked.Decrement(ref inFlight);
                }

                // The launcher gets a thread of its own: it sleeps a millisecond at a time and must not hold up I/O.
                await Task.Factory.StartNew(() =>
                {
                    long start = Stopwatch.GetTimestamp();
                    long total = (long)(rate * o.StepDuration.TotalSeconds);
                    double ticksPerPairing = Stopwatch.Frequency / (double)rate;
                    long launched = 0;
                    while (launched < total && !run.Stopping)
                    {
                        long due = Math.Min(total, (long)((Stopwatch.GetTimestamp() - start) / ticksPerPairing) + 1);
                        for (; launched < due; launched++)
                        {
                            if (!idle.TryTake(out var pairing))
                            {
                                if (created >= o.MaxInFlight)
                                {
                                    tally.RecordError(ErrorKind.Overload);
                                    continue;
                                }
                                created++;
                                pairing = run.Watchdog.Watch(new Pairing());
                            }
                            Interlocked.Increment(ref inFlight);
                            _ = RunOneAsync(pairing, start + (long)(launched * ticksPerPairing));
                        }
                        Thread.Sleep(1);
                    }
                }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

                // Let the step's pairings finish (each is bounded by --timeout) before the next step starts.
                long drainUntil = Stopwatch.GetTimestamp() + LoadRun.Ticks(o.Timeout + TimeSpan.FromSeconds(1));
                while (Volatile.Read(ref inFlight) > 0 && Stopwatch.GetTimestamp() < drainUntil)
                {
                    await Task.Delay(5);
                }

                var report = stepMeasurement.Finish("ramp-step", rate.ToString(CultureInfo.InvariantCulture), tally);
                steps.Add(report);
                all.Add(tally);
                if (tally.Errors > 0 || tally.LatencyMs(99) > o.P99ThresholdMs)
                {
                    knee = rate;
                    break;
                }
                lastGood = rate;
            }
        }

        var summary = measurement.Finish("ramp",
            string.Create(CultureInfo.InvariantCulture,
                $"start_rate={o.StartRate} step_rate={o.StepRate} max_rate={o.MaxRate} step_s={o.StepDuration.TotalSeconds:0.###} p99_threshold_ms={o.P99ThresholdMs:0.###} max_in_flight={o.MaxInFlight}"),
            all);
        summary.Steps.AddRange(steps);
        var c = CultureInfo.InvariantCulture;
        summary.Extra.Add(("knee_rate", knee?.ToString(c) ?? "none"));
        summary.Extra.Add(("last_good_rate", lastGood?.ToString(c) ?? "none"));
        summary.Notes.Add(knee is int k
            ? string.Create(c, $"at {k} pairings/s started, p99 passed {o.P99ThresholdMs:0.###} ms or pairings failed; the last rate that met it was {(lastGood?.ToString(c) ?? "none")}.")
            : string.Create(c, $"p99 stayed within {o.P99ThresholdMs:0.###} ms up to {o.MaxRate} pairings/s started, with no errors."));
        summary.Notes.Add("latency counts from when each pairing was due to start, so a backlog shows.");
        return summary;
    }
}
