using System.Diagnostics;

namespace Punchhole.Load;

/// <summary>
/// The one clock behind every attempt's deadline (as in the server: no timer or cancellation
/// source per connection). A thread scans the registered attempts a few times a second and aborts
/// the overdue ones; <see cref="AbortAll"/> aborts every attempt still armed, for the end of a run.
/// </summary>
internal sealed class Watchdog : IDisposable
{
    private static readonly TimeSpan s_interval = TimeSpan.FromMilliseconds(50);

    private readonly Lock _growth = new();
    private Attempt[] _attempts = new Attempt[64];
    private int _count;
    private readonly SemaphoreSlim _wake = new(0);
    private readonly Thread _thread;
    private volatile bool _abortAll;
    private volatile bool _stopping;

    public Watchdog()
    {
        _thread = new Thread(Run) { IsBackground = true, Name = "load watchdog" };
        _thread.Start();
    }

    /// <summary>Watches <paramref name="attempt"/> from now on (attempts are pooled, so this happens once each).</summary>
    public T Watch<T>(T attempt)
        where T : Attempt
    {
        lock (_growth)
        {
            if (_count == _attempts.Length)
            {
                var grown = new Attempt[_count * 2];
                _attempts.CopyTo(grown, 0);
                Volatile.Write(ref _attempts, grown);
            }
            _attempts[_count] = attempt;
            Volatile.Write(ref _count, _count + 1);
        }
        return attempt;
    }

    /// <summary>Aborts every armed attempt, now and from now on: their I/O fails as <see cref="ErrorKind.Unfinished"/>.</summary>
    public void AbortAll()
    {
        _abortAll = true;
        _wake.Release();
    }

    private void Run()
    {
        while (!_stopping)
        {
            _wake.Wait(s_interval);
            long now = Stopwatch.GetTimestamp();
            bool force = _abortAll;
            // A grown array holds everything the old one did, so a stale pair of (array, count) is still safe.
            var attempts = Volatile.Read(ref _attempts);
            int count = Math.Min(Volatile.Read(ref _count), attempts.Length);
            for (int i = 0; i < count; i++)
            {
                attempts[i].AbortIfOverdue(now, force);
            }
        }
    }

    public void Dispose()
    {
        _stopping = true;
        _wake.Release();
        _thread.Join();
        _wake.Dispose();
    }
}
