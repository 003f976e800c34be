namespace Punchhole.Benchmarks.Support;

/// <summary>
/// A second thread kept alive across benchmark invocations, so a two-thread benchmark measures
/// the two threads racing on shared state, not the cost of starting a thread. It spins and yields
/// between runs, never sleeping or blocking on an event: a wake-up from either can take as long
/// as a whole invocation. The spinning lasts only while the benchmark class is set up.
/// </summary>
internal sealed class SecondThread : IDisposable
{
    private readonly Thread _thread;
    private Action? _work;
    private int _started;
    private int _finished;
    private volatile bool _stopping;

    public SecondThread()
    {
        _thread = new Thread(Loop) { IsBackground = true, Name = "benchmark second thread" };
        _thread.Start();
    }

    /// <summary>Runs <paramref name="theirs"/> on the second thread while this thread runs <paramref name="mine"/>; returns when both are done.</summary>
    public void Run(Action mine, Action theirs)
    {
        _work = theirs;
        int run = Volatile.Read(ref _started) + 1;
        Volatile.Write(ref _started, run);
        mine();
        var spinner = new SpinWait();
        while (Volatile.Read(ref _finished) != run)
        {
            spinner.SpinOnce(sleep1Threshold: -1);
        }
    }

    private void Loop()
    {
        int done = 0;
        var spinner = new SpinWait();
        while (!_stopping)
        {
            if (Volatile.Read(ref _started) == done)
            {
                spinner.SpinOnce(sleep1Threshold: -1);
                continue;
            }
            spinner.Reset();
            _work!();
            done++;
            Volatile.Write(ref _finished, done);
        }
    }

    public void Dispose()
    {
        _stopping = true;
        _thread.Join();
    }
}
