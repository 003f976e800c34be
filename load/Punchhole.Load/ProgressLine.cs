namespace Punchhole.Load;

/// <summary>
/// A status line on stderr, rewritten in place twice a second, only when stderr is a terminal:
/// logs and scripts that capture the output get the report alone.
/// </summary>
internal sealed class ProgressLine : IDisposable
{
    private static readonly TimeSpan s_interval = TimeSpan.FromMilliseconds(500);

    private readonly Func<string> _status;
    private readonly Timer? _timer;
    private readonly Lock _gate = new();
    private bool _stopped;

    private ProgressLine(Func<string> status, bool show)
    {
        _status = status;
        if (show)
        {
            _timer = new Timer(_ => Draw(), null, s_interval, s_interval);
        }
    }

    /// <summary>Starts the line if stderr is a terminal (and this is not a child process, whose stderr is shared).</summary>
    public static ProgressLine Start(Func<string> status, bool allowed = true) =>
        new(status, allowed && !Console.IsErrorRedirected);

    private void Draw()
    {
        lock (_gate)
        {
            if (!_stopped)
            {
                // \r back to the start, then erase to the end of the line.
                Console.Error.Write($"\r{_status()}\u001b[K");
            }
        }
    }

    public void Dispose()
    {
        if (_timer is null)
        {
            return;
        }
        _timer.Dispose();
        lock (_gate)
        {
            _stopped = true;
            Console.Error.Write("\r\u001b[K");
        }
    }
}
