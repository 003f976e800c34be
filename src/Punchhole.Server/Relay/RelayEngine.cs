using System.Diagnostics;
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
    private const int IdleMilliseconds = 1000;

    /// <summary>
    /// In a bulk spell, a source socket wakes the engine once this much has arrived rather than at
    /// every segment: fewer, larger splices, and fewer wake-ups for both clients too.
    /// </summary>
    private const int BatchBytes = 256 * 1024;

    /// <summary>One read this large (64 KiB arrived between two wake-ups) starts a bulk spell; keystrokes never do.</summary>
    private const int BatchTrigger = 64 * 1024;

    /// <summary>
    /// A leg takes more bytes only while less than this waits unsent in its send queue
    /// (TCP_NOTSENT_LOWAT): the bytes in flight through the relay stay few enough to be in the
    /// processors' caches when the receiver copies them, and a slow receiver holds fewer of the
    /// server's buffers. Bytes sent and not yet acknowledged are not counted, so a long path still
    /// fills its bandwidth-delay product.
    /// </summary>
    private const int NotSentBytes = 128 * 1024;

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
    private readonly List<RelaySession> _batched = new(16);
    private long _nextBatchPoll;
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
                if (_batched.Count > 0)
                {
                    wait = Math.Min(wait, 1);
                }
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
                            Ready(session, second: (token & 1) != 0, flags);
                            Pump(session);
                        }
                    }
                }
                RetryThrottled();
                PollBatched();
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
        if (!RelayPipes.Open(ref session.Forward) || !RelayPipes.Open(ref session.Backward))
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
    private static unsafe bool Attach(ClientSession leg, out SafeHandle? handle, out int fd)
    {
        handle = null;
        fd = -1;
        if (leg.RelaySocket is not { } socket || !NonBlockingIo.TryAddRef(socket, out var held, out fd))
        {
            return false;
        }
        handle = held;
        // Best effort: without it the relay still works, only with more bytes queued.
        int notSent = NotSentBytes;
        _ = Libc.setsockopt(fd, Libc.IPPROTO_TCP, Libc.TCP_NOTSENT_LOWAT, &notSent, sizeof(int));
        int flags = Libc.fcntl(fd, F_GETFL, 0);
        return flags >= 0 && Libc.fcntl(fd, F_SETFL, flags | Libc.O_NONBLOCK) == 0;
    }

    /// <summary>What an event on one leg makes possible again: reading from it, writing to it.</summary>
    private static void Ready(RelaySession session, bool second, uint flags)
    {
        ref var from = ref second ? ref session.Backward : ref session.Forward;
        ref var into = ref second ? ref session.Forward : ref session.Backward;
        if ((flags & (Epoll.IN | Epoll.RDHUP | Epoll.HUP)) != 0)
        {
            from.SourceDry = false;
        }
        if ((flags & (Epoll.OUT | Epoll.HUP)) != 0)
        {
            into.DestinationFull = false;
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

    /// <summary>
    /// One step of one direction: drain the pipe into the destination, refill it from the source,
    /// pass a FIN on. A call the last one showed cannot succeed is not made: a destination that
    /// took less than offered waits for its next EPOLLOUT, and a source found empty with the pipe
    /// empty waits for its next EPOLLIN, so a bulk transfer costs about three splices per wake-up
    /// and an idle direction none.
    /// </summary>
    private RelayStep Move(RelaySession session, ref RelayDirection direction, int source, int destination)
    {
        const uint flags = Libc.SPLICE_F_MOVE | Libc.SPLICE_F_NONBLOCK;
        bool moved = false;
        if (direction.Buffered > 0 && !direction.DestinationFull)
        {
            nint n = Libc.splice(direction.PipeRead, null, destination, null, (nuint)direction.Buffered, flags);
            if (n > 0)
            {
                direction.Buffered -= (int)n;
                // A socket takes less than offered only when its send buffer is full.
                direction.DestinationFull = direction.Buffered > 0;
                moved = true;
            }
            else if (n < 0)
            {
                switch (Marshal.GetLastPInvokeError())
                {
                    case Libc.EAGAIN:
                        direction.DestinationFull = true;
                        break;
                    case Libc.EINTR:
                        break;
                    default:
                        return RelayStep.Failed;
                }
            }
        }
        if (!direction.SourceEnded && !direction.SourceDry && direction.Buffered < direction.Capacity)
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
                    direction.ReadSinceSweep = true;
                    if (direction.Buffered == direction.Capacity && !direction.Grown)
                    {
                        RelayPipes.Grow(ref direction);
                    }
                    if (n >= BatchTrigger && !direction.Batched)
                    {
                        Batch(session, ref direction, source);
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
                else
                {
                    switch (Marshal.GetLastPInvokeError())
                    {
                        case Libc.EAGAIN:
                            // With bytes in the pipe, EAGAIN may be the pipe's (its pages full
                            // before its byte count): once drained, the source is read again.
                            direction.SourceDry = direction.Buffered == 0;
                            break;
                        case Libc.EINTR:
                            break;
                        default:
                            return RelayStep.Failed;
                    }
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

    /// <summary>A direction in a bulk transfer reads in batches from now until it goes idle for a sweep.</summary>
    private void Batch(RelaySession session, ref RelayDirection direction, int source)
    {
        int lowMark = BatchBytes;
        if (Libc.setsockopt(source, Libc.SOL_SOCKET, Libc.SO_RCVLOWAT, &lowMark, sizeof(int)) != 0)
        {
            return;
        }
        direction.Batched = true;
        if (!session.InBatchedList)
        {
            session.InBatchedList = true;
            _batched.Add(session);
        }
    }

    /// <summary>Idle again: the source wakes the engine at its first byte (the kernel wakes it at once if bytes wait).</summary>
    private static void Unbatch(ref RelayDirection direction, int source)
    {
        if (direction.Batched)
        {
            direction.Batched = false;
            int lowMark = 1;
            _ = Libc.setsockopt(source, Libc.SOL_SOCKET, Libc.SO_RCVLOWAT, &lowMark, sizeof(int));
        }
    }

    /// <summary>
    /// Every millisecond while any direction reads in batches: reads what waits below the batch
    /// size, so the tail of a transfer (or a reply on a session that was bulk a moment ago) is
    /// not held back longer than that.
    /// </summary>
    private void PollBatched()
    {
        if (_batched.Count == 0)
        {
            return;
        }
        long now = Stopwatch.GetTimestamp();
        if (now < _nextBatchPoll)
        {
            return;
        }
        _nextBatchPoll = now + Stopwatch.Frequency / 1000;
        for (int i = _batched.Count - 1; i >= 0; i--)
        {
            var session = _batched[i];
            if (session.Ended || !(session.Forward.Batched || session.Backward.Batched))
            {
                session.InBatchedList = false;
                _batched[i] = _batched[^1];
                _batched.RemoveAt(_batched.Count - 1);
                continue;
            }
            session.Forward.SourceDry &= !session.Forward.Batched;
            session.Backward.SourceDry &= !session.Backward.Batched;
            Pump(session);
        }
    }

    /// <summary>Once a second: aborts sessions past --relay-max-time, and shrinks the pipes of directions gone idle.</summary>
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
            if (RelayPipes.Settle(ref session.Forward))
            {
                Unbatch(ref session.Forward, session.FirstFd);
            }
            if (RelayPipes.Settle(ref session.Backward))
            {
                Unbatch(ref session.Backward, session.SecondFd);
            }
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

    private static void ClosePipe(ref RelayDirection direction)
    {
        if (direction.PipeRead >= 0)
        {
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
