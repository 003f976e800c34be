using System.Runtime.InteropServices;

namespace Punchhole.Server;

/// <summary>
/// Copies the bytes of every relayed session on one thread of its own, with its own epoll set, so
/// relaying never runs on the socket engine's thread that pairs clients. Each direction of a
/// session is a pipe: splice(2) moves bytes from one leg's socket into the pipe and from the pipe
/// into the other leg's socket, in the kernel, with no user-space buffer and nothing allocated per
/// chunk. A FIN from one leg becomes a shutdown(SHUT_WR) on the other once the pipe is drained; a
/// reset (or any other error) on either leg aborts both with resets. The caps (bytes and time per
/// session, a global token bucket) are checked here; the engine counts each session's end once.
/// </summary>
internal sealed unsafe class RelayEngine : IDisposable
{
    private const int MaxEvents = 256;
    private const ulong WakeToken = ulong.MaxValue;
    private const int EFD_CLOEXEC = 0x80000;
    private const int F_GETFL = 3;
    private const int F_SETFL = 4;
    private const int F_GETPIPE_SZ = 1032;
    private const int IdleMilliseconds = 1000;
    private const int PageBytes = 4096;
    private const int GrownPipeBytes = 1 << 20;
    private const int FallbackPipeBytes = 64 << 10;

    // Bytes a direction moves within one sweep to count as busy. Counted in bytes, not by a full
    // pipe: a pipe slot holds one segment's fragment, so a one-page pipe is full with far less than a page.
    private const int BusyBytes = 64 << 10;

    // SO_SNDBUF asked for on each leg; the kernel doubles it (2 MiB in flight: about 170 Mbit/s per
    // session at 100 ms round trip, above the default --relay-mbit ceiling for all sessions together).
    private const int SendBufferBytes = 1 << 20;

    private readonly RelayOptions _options;
    private readonly ServerCounters _counters;
    private readonly ServerLog _log;
    private readonly Action _onEnded;
    private readonly Action<long> _onSecond;
    private readonly TokenBucket? _bucket;
    private readonly OwnedDescriptor _epoll;
    private readonly OwnedDescriptor _wake;
    private readonly Thread _thread;
    private readonly Lock _gate = new();

    // Pairs joined on other threads, taken over by the engine's thread when it wakes.
    private Joining[] _incoming = new Joining[16];
    private Joining[] _taking = new Joining[16];
    private int _incomingCount;
    private bool _closed;

    // Owned by the engine's thread from here on.
    private RelaySession?[] _sessions = new RelaySession?[64];
    private uint[] _generations = new uint[64];
    private int[] _freeSlots = new int[64];
    private int _freeCount;
    private int _slotsUsed;
    private List<RelaySession> _throttled = new(64);
    private List<RelaySession> _retrying = new(64);
    private long _nextSweep;
    private volatile bool _stopping;

    /// <summary>
    /// Starts the engine's thread. It calls <paramref name="onEnded"/> as each session ends, and
    /// <paramref name="onSecond"/> about once a second with the time (TickCount64).
    /// </summary>
    public RelayEngine(RelayOptions options, ServerCounters counters, ServerLog log, Action onEnded, Action<long> onSecond)
    {
        _options = options;
        _counters = counters;
        _log = log;
        _onEnded = onEnded;
        _onSecond = onSecond;
        _bucket = options.BytesPerSecond > 0 ? new TokenBucket(options.BytesPerSecond) : null;
        _epoll = Epoll.Create();
        _wake = new OwnedDescriptor(Libc.eventfd(0, EFD_CLOEXEC));
        if (_wake.IsInvalid)
        {
            int errno = Marshal.GetLastPInvokeError();
            _epoll.Dispose();
            throw new System.Net.Sockets.SocketException(errno);
        }
        Epoll.Add(_epoll.Fd, _wake.Fd, Epoll.IN, WakeToken);
        _thread = new Thread(Run) { IsBackground = true, Name = "tstun relay" };
        _thread.Start();
    }

    /// <summary>
    /// Takes over two legs that were just joined (any thread). <paramref name="joined"/> is false
    /// when one of them could not be told <c>JOINED</c>: the session then ends at once, aborted.
    /// </summary>
    public void Start(ClientSession first, ClientSession second, bool joined)
    {
        bool wake;
        lock (_gate)
        {
            if (_closed)
            {
                wake = false;
            }
            else
            {
                if (_incomingCount == _incoming.Length)
                {
                    Array.Resize(ref _incoming, _incomingCount * 2);
                }
                _incoming[_incomingCount++] = new Joining(first, second, joined);
                wake = _incomingCount == 1;
            }
        }
        if (_closed)
        {
            // Stopped between the join and here: nobody will take the pair over.
            CountEnd(RelayEnd.ShuttingDown);
            first.EndRelay("relayed session reset: server shutting down", abort: true);
            second.EndRelay("relayed session reset: server shutting down", abort: true);
            return;
        }
        if (wake)
        {
            Wake();
        }
    }

    private void Wake() => Epoll.Wake(_wake);

    private void Run()
    {
        byte* events = (byte*)NativeMemory.Alloc((nuint)(MaxEvents * Epoll.EventSize));
        try
        {
            _nextSweep = Environment.TickCount64 + IdleMilliseconds;
            while (!_stopping)
            {
                int wait = _throttled.Count > 0 && _bucket is not null ? _bucket.MillisecondsUntilAvailable() : IdleMilliseconds;
                int n = Libc.epoll_wait(_epoll.Fd, events, MaxEvents, wait);
                if (n < 0 && Marshal.GetLastPInvokeError() != Libc.EINTR)
                {
                    _log.Info($"the relay stopped: epoll_wait failed (errno {Marshal.GetLastPInvokeError()})");
                    return;
                }
                for (int i = 0; i < n; i++)
                {
                    ulong token = Epoll.Read(events, i, out uint flags);
                    if (token == WakeToken)
                    {
                        ulong count;
                        _ = Libc.read(_wake.Fd, &count, sizeof(ulong));
                        TakeIncoming();
                        continue;
                    }
                    if (Find(token) is { } session)
                    {
                        if ((flags & Epoll.ERR) != 0)
                        {
                            // A reset on one leg: the other is reset too, whatever is still in flight.
                            End(session, RelayEnd.Aborted);
                        }
                        else
                        {
                            Pump(session);
                        }
                    }
                }
                RetryThrottled();
                long now = Environment.TickCount64;
                if (now >= _nextSweep)
                {
                    _nextSweep = now + IdleMilliseconds;
                    Sweep(now);
                    _onSecond(now);
                }
            }
        }
        finally
        {
            NativeMemory.Free(events);
            for (int slot = 0; slot < _slotsUsed; slot++)
            {
                if (_sessions[slot] is { } session)
                {
                    End(session, RelayEnd.ShuttingDown);
                }
            }
        }
    }

    /// <summary>Sets up every pair handed over since the last wake-up (or, once stopped, ends them).</summary>
    private void TakeIncoming()
    {
        int count;
        lock (_gate)
        {
            (_incoming, _taking) = (_taking, _incoming);
            count = _incomingCount;
            _incomingCount = 0;
        }
        for (int i = 0; i < count; i++)
        {
            var joining = _taking[i];
            _taking[i] = default;
            Begin(joining);
        }
    }

    private void Begin(in Joining joining)
    {
        var session = new RelaySession(joining.First, joining.Second, TakeSlot(out uint generation), generation, Environment.TickCount64);
        _sessions[session.Slot] = session;
        if (!joining.Joined || _closed
            || !Attach(joining.First, out session.FirstHandle, out session.FirstFd)
            || !Attach(joining.Second, out session.SecondHandle, out session.SecondFd))
        {
            End(session, _closed ? RelayEnd.ShuttingDown : RelayEnd.Aborted);
            return;
        }
        if (!OpenPipe(ref session.Forward) || !OpenPipe(ref session.Backward))
        {
            // Out of descriptors (or pipe memory): this session cannot run; the counters say it ended aborted.
            _log.Debug(Marshal.GetLastPInvokeError(), static errno => $"relay: no pipe for a session (errno {errno})");
            End(session, RelayEnd.Aborted);
            return;
        }
        const uint interest = Epoll.IN | Epoll.OUT | Epoll.RDHUP | Epoll.ET;
        if (Epoll.Add(_epoll.Fd, session.FirstFd, interest, session.EventToken(false)) != 0
            || Epoll.Add(_epoll.Fd, session.SecondFd, interest, session.EventToken(true)) != 0)
        {
            End(session, RelayEnd.Aborted);
            return;
        }
        // Adding reports what is ready already, but bytes may have come before: step once now.
        Pump(session);
    }

    /// <summary>Holds a leg's descriptor open for the session's life and makes it non-blocking.</summary>
    private static bool Attach(ClientSession leg, out SafeHandle? handle, out int fd)
    {
        handle = null;
        fd = -1;
        if (leg.RelaySocket is not { } socket || !NonBlockingIo.TryAddRef(socket, out var held, out fd))
        {
            return false;
        }
        handle = held;
        // A cap, not an allocation: the kernel's autotuning lets a busy leg queue up to
        // tcp_wmem's maximum (4 MiB) unsent, so the receiver copies bytes that left the sender's
        // cache long ago. Capped at 1 MiB (the kernel doubles it), relayed throughput on loopback
        // rose from about 0.5x to 0.6x of a direct connection, at less CPU per byte for the clients.
        int sendBuffer = SendBufferBytes;
        _ = Libc.setsockopt(fd, Libc.SOL_SOCKET, Libc.SO_SNDBUF, &sendBuffer, sizeof(int));
        int flags = Libc.fcntl(fd, F_GETFL, 0);
        return flags >= 0 && Libc.fcntl(fd, F_SETFL, flags | Libc.O_NONBLOCK) == 0;
    }

    /// <summary>
    /// Opens one direction's pipe at a single page. The kernel charges every pipe its full size
    /// against the user's pipe budget (fs.pipe-user-pages-soft, 16,384 pages by default) whether or
    /// not it holds bytes: at the default 16 pages, about 512 idle sessions would take the whole
    /// budget and every later pipe would be stuck small. At one page, 1,000 idle sessions take
    /// 2,000 pages and the rest stays for the sessions that move data.
    /// </summary>
    private bool OpenPipe(ref RelayDirection direction)
    {
        int* fds = stackalloc int[2];
        if (Libc.pipe2(fds, Libc.O_NONBLOCK | Libc.O_CLOEXEC) != 0)
        {
            return false;
        }
        direction.PipeRead = fds[0];
        direction.PipeWrite = fds[1];
        int size = Libc.fcntl(fds[1], Libc.F_SETPIPE_SZ, PageBytes);
        direction.Capacity = size > 0 ? size : Libc.fcntl(fds[1], F_GETPIPE_SZ, 0);
        if (direction.Capacity <= 0)
        {
            return false;
        }
        Interlocked.Add(ref _counters.RelayPipePages, direction.Capacity / PageBytes);
        return true;
    }

    /// <summary>
    /// A transfer moved 64 KiB within a sweep: a larger pipe moves more per splice and per wake-up
    /// (at one page, relaying 1 GiB would cost 262,144 splice pairs). The kernel refuses growth past the user's
    /// pipe budget (EPERM): the refusal is counted, the pipe grows as far as 64 KiB if that still
    /// fits, and the session relays on at the size it has; it asks again after the next sweep.
    /// </summary>
    private void Grow(ref RelayDirection direction)
    {
        int size = Libc.fcntl(direction.PipeWrite, Libc.F_SETPIPE_SZ, GrownPipeBytes);
        if (size < 0)
        {
            direction.GrowRefused = true;
            ServerCounters.Add(ref _counters.RelayPipeRefused);
            _log.Debug(Marshal.GetLastPInvokeError(), static errno => $"relay: a pipe could not grow to 1 MiB (errno {errno}): the user's pipe budget (fs.pipe-user-pages-soft) is spent");
            if (direction.Capacity < FallbackPipeBytes)
            {
                size = Libc.fcntl(direction.PipeWrite, Libc.F_SETPIPE_SZ, FallbackPipeBytes);
            }
        }
        Resized(ref direction, size);
    }

    /// <summary>A pipe idle for a whole sweep gives its pages back to the budget (it holds no bytes, so the kernel allows it).</summary>
    private void Shrink(ref RelayDirection direction)
    {
        bool idle = direction.Recent == 0;
        direction.Recent = 0;
        direction.GrowRefused = false;
        if (idle && direction.Buffered == 0 && direction.Capacity > PageBytes && direction.PipeWrite >= 0)
        {
            Resized(ref direction, Libc.fcntl(direction.PipeWrite, Libc.F_SETPIPE_SZ, PageBytes));
        }
    }

    private void Resized(ref RelayDirection direction, int size)
    {
        if (size > 0 && size != direction.Capacity)
        {
            Interlocked.Add(ref _counters.RelayPipePages, (size - direction.Capacity) / PageBytes);
            direction.Capacity = size;
        }
    }

    /// <summary>Moves bytes both ways until nothing moves; ends the session when both directions are done or a leg failed.</summary>
    private void Pump(RelaySession session)
    {
        while (!session.Ended)
        {
            var forward = Move(session, ref session.Forward, session.FirstFd, session.SecondFd);
            var backward = forward is RelayStep.Failed or RelayStep.BytesCapped
                ? RelayStep.Idle
                : Move(session, ref session.Backward, session.SecondFd, session.FirstFd);
            if (forward == RelayStep.Failed || backward == RelayStep.Failed)
            {
                End(session, RelayEnd.Aborted);
                return;
            }
            if (forward == RelayStep.BytesCapped || backward == RelayStep.BytesCapped)
            {
                End(session, RelayEnd.BytesCapped);
                return;
            }
            if (session.Forward.Done && session.Backward.Done)
            {
                End(session, RelayEnd.Completed);
                return;
            }
            if (forward == RelayStep.Idle && backward == RelayStep.Idle)
            {
                return;
            }
        }
    }

    /// <summary>One step of one direction: drain the pipe into the destination, refill it from the source, pass a FIN on.</summary>
    private RelayStep Move(RelaySession session, ref RelayDirection direction, int source, int destination)
    {
        const uint flags = Libc.SPLICE_F_MOVE | Libc.SPLICE_F_NONBLOCK;
        bool moved = false;
        if (direction.Buffered > 0)
        {
            nint n = Libc.splice(direction.PipeRead, null, destination, null, (nuint)direction.Buffered, flags);
            if (n > 0)
            {
                direction.Buffered -= (int)n;
                moved = true;
            }
            else if (n < 0 && !WouldBlock())
            {
                return RelayStep.Failed;
            }
        }
        if (!direction.SourceEnded && direction.Buffered < direction.Capacity)
        {
            if (_bucket is not null && _bucket.Available() <= 0)
            {
                Throttle(session);
            }
            else
            {
                // One byte past the cap is enough to know the session went over it.
                long room = Math.Min(direction.Capacity - direction.Buffered, _options.MaxBytes - session.Bytes + 1);
                nint n = Libc.splice(source, null, direction.PipeWrite, null, (nuint)room, flags);
                if (n > 0)
                {
                    direction.Buffered += (int)n;
                    direction.Recent += n;
                    if (direction.Recent >= BusyBytes && direction.Capacity < GrownPipeBytes && !direction.GrowRefused)
                    {
                        Grow(ref direction);
                    }
                    session.Bytes += n;
                    _bucket?.Spend(n);
                    Interlocked.Add(ref _counters.RelayBytes, n);
                    if (session.Bytes > _options.MaxBytes)
                    {
                        return RelayStep.BytesCapped;
                    }
                    moved = true;
                }
                else if (n == 0)
                {
                    direction.SourceEnded = true;
                    moved = true;
                }
                else if (!WouldBlock())
                {
                    return RelayStep.Failed;
                }
            }
        }
        if (direction.SourceEnded && direction.Buffered == 0 && !direction.Shut)
        {
            direction.Shut = true;
            moved = true;
            if (Libc.shutdown(destination, Libc.SHUT_WR) != 0)
            {
                return RelayStep.Failed;
            }
        }
        return moved ? RelayStep.Progress : RelayStep.Idle;
    }

    private static bool WouldBlock()
    {
        int errno = Marshal.GetLastPInvokeError();
        return errno is Libc.EAGAIN or Libc.EINTR;
    }

    private void Throttle(RelaySession session)
    {
        if (!session.Throttled)
        {
            session.Throttled = true;
            _throttled.Add(session);
            ServerCounters.Add(ref _counters.RelayThrottled);
        }
    }

    /// <summary>Sessions that waited for the bandwidth ceiling step again once it has room (they get no new event by themselves).</summary>
    private void RetryThrottled()
    {
        if (_throttled.Count == 0 || _bucket!.Available() <= 0)
        {
            return;
        }
        (_throttled, _retrying) = (_retrying, _throttled);
        foreach (var session in _retrying)
        {
            session.Throttled = false;
            if (!session.Ended)
            {
                Pump(session);
            }
        }
        _retrying.Clear();
    }

    /// <summary>Once a second: aborts sessions past --relay-max-time, and shrinks the pipes that sat idle since the last sweep.</summary>
    private void Sweep(long now)
    {
        long limit = (long)_options.MaxDuration.TotalMilliseconds;
        for (int slot = 0; slot < _slotsUsed; slot++)
        {
            if (_sessions[slot] is not { } session)
            {
                continue;
            }
            if (now - session.StartedAt >= limit)
            {
                End(session, RelayEnd.TimeCapped);
                continue;
            }
            Shrink(ref session.Forward);
            Shrink(ref session.Backward);
        }
    }

    /// <summary>Counts the session's end, lets go of its pipes and descriptors, and closes both legs (FIN after a clean end, else reset).</summary>
    private void End(RelaySession session, RelayEnd end)
    {
        if (session.Ended)
        {
            return;
        }
        session.Ended = true;
        // Counted before either leg can see its connection end.
        CountEnd(end);
        ClosePipe(ref session.Forward);
        ClosePipe(ref session.Backward);
        // Let go of the descriptors before the legs close them, or the close would wait for the release.
        session.FirstHandle?.DangerousRelease();
        session.SecondHandle?.DangerousRelease();
        session.FirstHandle = session.SecondHandle = null;
        _sessions[session.Slot] = null;
        _generations[session.Slot]++;
        _freeSlots[_freeCount++] = session.Slot;
        string why = end switch
        {
            RelayEnd.Completed => "relayed session finished",
            RelayEnd.Aborted => "relayed session aborted: a leg reset or failed",
            RelayEnd.BytesCapped => "relayed session reset: --relay-max-mib reached",
            RelayEnd.TimeCapped => "relayed session reset: --relay-max-time reached",
            _ => "relayed session reset: server shutting down",
        };
        bool abort = end != RelayEnd.Completed;
        session.First.EndRelay(why, abort);
        session.Second.EndRelay(why, abort);
    }

    private void CountEnd(RelayEnd end)
    {
        ServerCounters.Add(ref _counters.RelayEnded);
        switch (end)
        {
            case RelayEnd.Aborted:
                ServerCounters.Add(ref _counters.RelayAborted);
                break;
            case RelayEnd.BytesCapped:
                ServerCounters.Add(ref _counters.RelayBytesCapped);
                break;
            case RelayEnd.TimeCapped:
                ServerCounters.Add(ref _counters.RelayTimeCapped);
                break;
        }
        Interlocked.Decrement(ref _counters.RelayActive);
        _onEnded();
    }

    private void ClosePipe(ref RelayDirection direction)
    {
        if (direction.PipeRead >= 0)
        {
            Interlocked.Add(ref _counters.RelayPipePages, -direction.Capacity / PageBytes);
            Libc.close(direction.PipeRead);
            Libc.close(direction.PipeWrite);
            direction.PipeRead = direction.PipeWrite = -1;
        }
    }

    private RelaySession? Find(ulong token)
    {
        int slot = (int)((uint)token >> 1);
        return slot < _slotsUsed && _sessions[slot] is { } session && session.Generation == (uint)(token >> 32) ? session : null;
    }

    private int TakeSlot(out uint generation)
    {
        int slot;
        if (_freeCount > 0)
        {
            slot = _freeSlots[--_freeCount];
        }
        else
        {
            if (_slotsUsed == _sessions.Length)
            {
                Array.Resize(ref _sessions, _slotsUsed * 2);
                Array.Resize(ref _generations, _slotsUsed * 2);
                Array.Resize(ref _freeSlots, _slotsUsed * 2);
            }
            slot = _slotsUsed++;
        }
        generation = _generations[slot];
        return slot;
    }

    /// <summary>Stops the thread; it aborts every session still relaying before it ends.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_closed)
            {
                return;
            }
            _closed = true;
        }
        _stopping = true;
        Wake();
        if (Thread.CurrentThread != _thread)
        {
            _thread.Join();
        }
        // Pairs handed over after the thread's last look end here.
        TakeIncoming();
        _epoll.Dispose();
        _wake.Dispose();
    }

    private readonly record struct Joining(ClientSession First, ClientSession Second, bool Joined);

    private enum RelayEnd
    {
        Completed,
        Aborted,
        BytesCapped,
        TimeCapped,
        ShuttingDown,
    }
}
