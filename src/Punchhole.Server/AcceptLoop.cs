using System.Net.Sockets;
using Punchhole.Protocol;

namespace Punchhole.Server;

/// <summary>
/// Accepts connections with one reusable SocketAsyncEventArgs (Garnet's design): a do/while
/// loop that keeps going while accepts complete synchronously, so a burst never recurses.
/// <para>
/// Accepting never takes the process's last descriptors: a process left with none cannot start a
/// thread or load code (the JIT runtime opens files for both, and fails when it cannot). Linux
/// gives each new descriptor the lowest number free, so a connection accepted with a number within
/// <see cref="Headroom"/> of the open-file limit proves every number below it taken: accepting
/// pauses there, and the numbers above it stay free for the rest of the process. One within
/// <see cref="Reserve"/> of the limit is not even kept (closed at once, as past the connection
/// cap), so however often that repeats, connections never take the last <see cref="Reserve"/>.
/// The limit is read at start and on every heartbeat, so a limit lowered from outside counts too.
/// The heartbeat resumes accepting once a probe finds a number below the headroom free.
/// </para>
/// <para>
/// When descriptors run out anyway (EMFILE/ENFILE: a system-wide shortage, another consumer) or
/// buffers do, accepting pauses, backing off, instead of spinning on a listener that stays
/// readable, and a few spare descriptors go back to the process (see <see cref="SpareDescriptors"/>).
/// </para>
/// </summary>
internal sealed class AcceptLoop : IDisposable
{
    private static readonly TimeSpan s_firstPause = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan s_longestPause = TimeSpan.FromSeconds(1);

    /// <summary>Descriptors held back while accepting, handed back to the process when accept fails for want of them.</summary>
    public const int SpareCount = 16;

    /// <summary>Accepting pauses at a connection numbered this close to the open-file limit.</summary>
    public const int Headroom = 32;

    /// <summary>The top descriptor numbers no accepted connection keeps: at least this many stay free for the rest of the process.</summary>
    public const int Reserve = 16;

    private readonly Socket _listener;
    private readonly ServerLog _log;
    private readonly Action<Socket> _onAccepted;
    private readonly Action<Socket> _onRefused;
    private readonly Action<string, TimeSpan> _onPause;
    private readonly AcceptArgs _args;
    private readonly SpareDescriptors _spares = new(SpareCount);
    private TimeSpan _pause = s_firstPause;
    private long _resumeAt = long.MaxValue;
    private long _limit = ReadLimit();
    private volatile bool _stopped;

    /// <param name="listener">The listening socket.</param>
    /// <param name="log">Where a change of the open-file limit is told.</param>
    /// <param name="onAccepted">Takes each accepted connection.</param>
    /// <param name="onRefused">Takes (to count and close) a connection accepted too close to the open-file limit to keep.</param>
    /// <param name="onPause">Told each time accepting pauses, why, and for how long.</param>
    public AcceptLoop(Socket listener, ServerLog log, Action<Socket> onAccepted, Action<Socket> onRefused, Action<string, TimeSpan> onPause)
    {
        _listener = listener;
        _log = log;
        _onAccepted = onAccepted;
        _onRefused = onRefused;
        _onPause = onPause;
        _args = new AcceptArgs(this);
    }

    public void Start() => Accept();

    /// <summary>Called by the heartbeat: reads the open-file limit again, and resumes accepting once a pause is over and there is room.</summary>
    public void OnHeartbeat(long now)
    {
        long limit = ReadLimit();
        if (limit != _limit)
        {
            // Only this thread writes it once accepting runs.
            _log.Info($"the open-file limit is now {(limit == long.MaxValue ? "unknown" : limit)} "
                + $"(it was {(_limit == long.MaxValue ? "unknown" : _limit)}); accepting pauses {Headroom} descriptors short of it");
            Volatile.Write(ref _limit, limit);
        }
        long resumeAt = Interlocked.Read(ref _resumeAt);
        if (now >= resumeAt && Interlocked.CompareExchange(ref _resumeAt, long.MaxValue, resumeAt) == resumeAt)
        {
            if (!HasRoom(Volatile.Read(ref _limit) - Headroom))
            {
                StayPaused(now);
                return;
            }
            // Inline on the heartbeat thread, on purpose: near the limit, the thread pool may need to
            // start a thread, which is what must not be asked of the runtime now.
            Accept();
        }
    }

    /// <summary>
    /// True when the spares are held (after accept ran out, they were with the process) and the
    /// next connection would get a number below <paramref name="ceiling"/>, as would they.
    /// </summary>
    private bool HasRoom(long ceiling)
    {
        if (!_spares.TryTakeAll(ceiling))
        {
            return false;
        }
        int next = SpareDescriptors.NextFree();
        return next >= 0 && next < ceiling;
    }

    private static long ReadLimit() => OpenFileLimit.Current() is > 0 and var limit ? limit : long.MaxValue;

    private void StayPaused(long now)
    {
        var pause = _pause;
        _pause = TimeSpan.FromTicks(Math.Min(_pause.Ticks * 2, s_longestPause.Ticks));
        Interlocked.Exchange(ref _resumeAt, now + (long)pause.TotalMilliseconds);
    }

    private void Pause(string reason)
    {
        var pause = _pause;
        _pause = TimeSpan.FromTicks(Math.Min(_pause.Ticks * 2, s_longestPause.Ticks));
        _onPause(reason, pause);
        Interlocked.Exchange(ref _resumeAt, Environment.TickCount64 + (long)pause.TotalMilliseconds);
    }

    private void Accept()
    {
        bool pending;
        do
        {
            if (_stopped)
            {
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
            var socket = _args.AcceptSocket!;
            long number = socket.SafeHandle.DangerousGetHandle();
            long limit = Volatile.Read(ref _limit);
            if (number < limit - Headroom)
            {
                _pause = s_firstPause;
                _onAccepted(socket);
                return true;
            }
            // Every number below this one is taken: the rest of the process has the few above it.
            if (number < limit - Reserve)
            {
                _onAccepted(socket);
            }
            else
            {
                _onRefused(socket);
            }
            Pause($"near the open-file limit (descriptor {number} of {limit})");
            return false;
        }
        if (_stopped || error == SocketError.OperationAborted)
        {
            return false;
        }
        if (error is SocketError.TooManyOpenSockets or SocketError.NoBufferSpaceAvailable)
        {
            // Hand the spares back first: closing sockets, logging and starting threads need descriptors too.
            _spares.ReleaseAll();
            Pause($"accept failed ({error})");
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
