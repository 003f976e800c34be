using System.Diagnostics;

namespace Punchhole.Load.Scenarios;

/// <summary>
/// C workers, each running one pairing after another: C pairings always in flight (a closed
/// loop, as pairload -c runs). Stops after <paramref name="pairs"/> pairings are started, after
/// <paramref name="duration"/>, or at the hard deadline, whichever comes first.
/// </summary>
internal sealed class ClosedLoop(LoadRun run, RunTally tally, int concurrency, long pairs, TimeSpan duration)
{
    /// <summary>The loop the options ask for: --concurrency, --pairs, --duration.</summary>
    public ClosedLoop(LoadRun run, RunTally tally)
        : this(run, tally, run.Options.Concurrency, run.Options.Pairs, run.Options.Duration)
    {
    }

    private long _claimed;

    /// <summary>Pairings started so far.</summary>
    public long Started => Math.Min(Volatile.Read(ref _claimed), pairs);

    /// <summary>Runs the workers to the end; <paramref name="beforeEach"/> runs on a worker before each of its pairings.</summary>
    public Task RunAsync(Action<int>? beforeEach = null)
    {
        long stopAt = Stopwatch.GetTimestamp() + LoadRun.Ticks(duration);
        var workers = new Task[concurrency];
        for (int i = 0; i < workers.Length; i++)
        {
            workers[i] = WorkAsync(i, run.Watchdog.Watch(new Pairing()), stopAt, beforeEach);
        }
        return Task.WhenAll(workers);
    }

    private async Task WorkAsync(int worker, Pairing pairing, long stopAt, Action<int>? beforeEach)
    {
        // Start on the thread pool, so the workers begin together rather than one after another.
        await Task.Yield();
        while (!run.Stopping && Stopwatch.GetTimestamp() < stopAt && Interlocked.Increment(ref _claimed) <= pairs)
        {
            beforeEach?.Invoke(worker);
            long started = Stopwatch.GetTimestamp();
            var error = await pairing.RunAsync(run.Target, run.Options.Timeout);
            run.Record(tally, pairing, error, Stopwatch.GetTimestamp() - started);
        }
    }
}
