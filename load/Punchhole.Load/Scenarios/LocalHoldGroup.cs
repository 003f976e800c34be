using System.Diagnostics;

namespace Punchhole.Load.Scenarios;

/// <summary>
/// Held pairings in this process. At most <see cref="ConnectsAtOnce"/> connections are being set
/// up at a time, so the server's listen queue (and the SYN queue) never overflows into
/// retransmissions that would add a second to some pairings; a latency counts from its own start.
/// </summary>
internal sealed class LocalHoldGroup(LoadRun run, int clients) : IHoldGroup
{
    public const int ConnectsAtOnce = 1024;

    private readonly Pairing[] _pairings = CreatePairings(run, clients);
    private readonly bool[] _waiting = new bool[clients];
    private readonly RunTally _tally = new();
    private readonly SemaphoreSlim _connects = new(ConnectsAtOnce);

    /// <summary>Pairings whose second half is running or done, for the progress line.</summary>
    public RunTally Tally => _tally;

    private static Pairing[] CreatePairings(LoadRun run, int clients)
    {
        var pairings = new Pairing[clients];
        for (int i = 0; i < clients; i++)
        {
            pairings[i] = run.Watchdog.Watch(new Pairing());
        }
        return pairings;
    }

    public async Task<int> OpenAsync()
    {
        await Task.WhenAll(Enumerable.Range(0, _pairings.Length).Select(OpenOneAsync));
        return _waiting.Count(w => w);
    }

    private async Task OpenOneAsync(int i)
    {
        await _connects.WaitAsync();
        try
        {
            if (run.Stopping)
            {
                _tally.RecordError(ErrorKind.Unfinished);
                return;
            }
            var error = await _pairings[i].SendFirstAsync(run.Target, run.Options.Timeout);
            if (error is { } kind)
            {
                _tally.RecordError(kind);
                return;
            }
            _waiting[i] = true;
        }
        finally
        {
            _connects.Release();
        }
    }

    public async Task<RunTally> CompleteAsync()
    {
        await Task.WhenAll(Enumerable.Range(0, _pairings.Length).Where(i => _waiting[i]).Select(CompleteOneAsync));
        return _tally;
    }

    private async Task CompleteOneAsync(int i)
    {
        await _connects.WaitAsync();
        try
        {
            var pairing = _pairings[i];
            long started = Stopwatch.GetTimestamp();
            var error = run.Stopping ? ErrorKind.Unfinished : await pairing.CompleteAsync(run.Target, run.Options.Timeout);
            run.Record(_tally, pairing, error, Stopwatch.GetTimestamp() - started);
        }
        finally
        {
            _connects.Release();
        }
    }

    public double ChildCpuSeconds => 0;

    public void Dispose() => _connects.Dispose();
}
