namespace Punchhole.Server;

/// <summary>
/// The one clock behind every deadline (Kestrel's design): a single thread ticks at a fixed
/// interval and the server scans for what has expired. No timer or cancellation source per client.
/// </summary>
internal sealed class Heartbeat : IDisposable
{
    private readonly TimeSpan _interval;
    private readonly Action<long> _onTick;
    private readonly ManualResetEventSlim _stopped = new();
    private readonly Thread _thread;

    public Heartbeat(TimeSpan interval, Action<long> onTick)
    {
        _interval = interval;
        _onTick = onTick;
        _thread = new Thread(Run) { IsBackground = true, Name = "tstun heartbeat" };
    }

    public void Start() => _thread.Start();

    private void Run()
    {
        while (!_stopped.Wait(_interval))
        {
            _onTick(Environment.TickCount64);
        }
    }

    public void Dispose()
    {
        _stopped.Set();
        if (_thread.IsAlive && Thread.CurrentThread != _thread)
        {
            _thread.Join();
        }
    }
}
