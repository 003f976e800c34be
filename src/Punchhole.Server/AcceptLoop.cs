using System.Net.Sockets;

namespace Punchhole.Server;

/// <summary>
/// Accepts connections with one reusable SocketAsyncEventArgs (Garnet's design): a do/while
/// loop that keeps going while accepts complete synchronously, so a burst never recurses. When
/// the process runs out of descriptors (EMFILE/ENFILE) or buffers, accepting pauses and the
/// heartbeat resumes it later, backing off, instead of spinning on a listener that stays readable.
/// While paused, a few spare descriptors are handed back to the process (see <see cref="SpareDescriptors"/>).
/// Once accepting has run out, it stops <see cref="Headroom"/> connections short of where it ran out
/// (for a minute; then the next shortage, if any, finds the mark again): accept takes every descriptor
/// there is, and a process left with none cannot start a thread or load code (the JIT runtime opens
/// files for both, and dies when it cannot), for as long as no next client comes to fail an accept.
/// </summary>
internal sealed class AcceptLoop : IDisposable
{
    private static readonly TimeSpan s_firstPause = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan s_longestPause = TimeSpan.FromSeconds(1);

    /// <summary>Descriptors kept back for the rest of the process when accepting exhausts them.</summary>
    public const int SpareCount = 16;

    /// <summary>Descriptors left free (besides the spares) once accepting has run out of them.</summary>
    public const int Headroom = 16;

    // How long a ceiling holds before accepting may run out again to find where it is now.
    private const long CeilingMilliseconds = 60_000;

    private readonly Socket _listener;
    private readonly Action<Socket> _onAccepted;
    private readonly Action<SocketError, TimeSpan> _onPause;
    private readonly Func<long> _open;
    private readonly AcceptArgs _args;
    private readonly SpareDescriptors _spares = new(SpareCount);
    private TimeSpan _pause = s_firstPause;
    private long _resumeAt = long.MaxValue;
    // Connections open where accepting last ran out of descriptors (or where a probe says it would);
    // no limit until it first does.
    private long _ceiling = long.MaxValue;
    private long _ceilingUntil;
    private volatile bool _stopped;

    /// <param name="listener">The listening socket.</param>
    /// <param name="onAccepted">Takes each accepted connection.</param>
    /// <param name="onPause">Told each time accepting pauses for want of descriptors, and for how long.</param>
    /// <param name="openConnections">The accepted connections still open.</param>
    public AcceptLoop(Socket listener, Action<Socket> onAccepted, Action<SocketError, TimeSpan> onPause, Func<long> openConnections)
    {
        _listener = listener;
        _onAccepted = onAccepted;
        _onPause = onPause;
        _open = openConnections;
        _args = new AcceptArgs(this);
    }

    public void Start() => Accept();

    /// <summary>Called by the heartbeat: resumes accepting once a pause is over.</summary>
    public void OnHeartbeat(long now)
    {
        long resumeAt = Interlocked.Read(ref _resumeAt);
        if (now >= resumeAt && Interlocked.CompareExchange(ref _resumeAt, long.MaxValue, resumeAt) == resumeAt)
        {
            if (now >= _ceilingUntil)
            {
                // Descriptors may have come free elsewhere (a raised limit): the next shortage sets it again.
                _ceiling = long.MaxValue;
            }
            // Short of the mark, nothing is touched (taking the spares back would take the last free ones).
            if (AtCeiling() || !_spares.TryTakeAll())
            {
                // Still too few descriptors for the rest of the process: stay paused, backing off.
                StayPaused(now);
                return;
            }
            // Inline on the heartbeat thread, on purpose: at the edge of descriptor exhaustion the
            // thread pool may need to start a thread, and the runtime aborts ("Out of memory.")
            // when it cannot get a descriptor for one.
            Accept();
        }
    }

    private void StayPaused(long now)
    {
        var pause = _pause;
        _pause = TimeSpan.FromTicks(Math.Min(_pause.Ticks * 2, s_longestPause.Ticks));
        Interlocked.Exchange(ref _resumeAt, now + (long)pause.TotalMilliseconds);
    }

    /// <summary>True when one more connection would leave fewer than <see cref="Headroom"/> descriptors free.</summary>
    private bool AtCeiling() => _ceiling != long.MaxValue && _open() >= _ceiling - Headroom;

    private void Accept()
    {
        bool pending;
        do
        {
            if (_stopped)
            {
                return;
            }
            if (AtCeiling())
            {
                // Short of the descriptors accepting ran out at: the heartbeat resumes once some come
                // free; the spares go back to the process meanwhile.
                _spares.ReleaseAll();
                var pause = _pause;
                _onPause(SocketError.TooManyOpenSockets, pause);
                Interlocked.Exchange(ref _resumeAt, Environment.TickCount64 + (long)pause.TotalMilliseconds);
                return;
            }
            _args.AcceptSocket = null;
            try
            {
                pending = _listener.AcceptAsync(_args);
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            if (!pending && !OnAccepted())
            {
                return;
            }
        }
        while (!pending);
    }

    /// <summary>Handles one accept; false to stop the loop (paused or stopped).</summary>
    private bool OnAccepted()
    {
        var error = _args.SocketError;
        if (error == SocketError.Success)
        {
            _pause = s_firstPause;
            _onAccepted(_args.AcceptSocket!);
            return true;
        }
        if (_stopped || error == SocketError.OperationAborted)
        {
            return false;
        }
        if (error is SocketError.TooManyOpenSockets or SocketError.NoBufferSpaceAvailable)
        {
            // Hand the spares back first: closing sockets, logging and starting threads need descriptors too.
            _spares.ReleaseAll();
            _ceiling = _open();
            _ceilingUntil = Environment.TickCount64 + CeilingMilliseconds;
            var pause = _pause;
            _pause = TimeSpan.FromTicks(Math.Min(_pause.Ticks * 2, s_longestPause.Ticks));
            _onPause(error, pause);
            Interlocked.Exchange(ref _resumeAt, Environment.TickCount64 + (long)pause.TotalMilliseconds);
            return false;
        }
        // A client that reset before we accepted it, and the like: carry on.
        return true;
    }

    public void Dispose()
    {
        _stopped = true;
        _listener.Dispose();
        _args.Dispose();
        _spares.Dispose();
    }

    private sealed class AcceptArgs(AcceptLoop owner) : SocketAsyncEventArgs(unsafeSuppressExecutionContextFlow: true)
    {
        protected override void OnCompleted(SocketAsyncEventArgs e)
        {
            if (owner.OnAccepted())
            {
                owner.Accept();
            }
        }
    }
}
