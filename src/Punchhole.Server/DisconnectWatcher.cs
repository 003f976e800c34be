using System.Buffers.Binary;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Punchhole.Server;

/// <summary>
/// Notices a waiting client whose connection was reset, and runs the poll that confirms claimed
/// waiters (see <see cref="PendingConfirmations"/>) on the same thread. Waiting clients have sent
/// their key and usually half-closed, so no read can be kept pending on them and .NET's socket
/// engine would not report the reset. A private epoll set, asking for no events, still reports
/// EPOLLHUP/EPOLLERR, which a half-closed but live connection never raises. One-shot, so each
/// registration fires once.
/// </summary>
internal sealed class DisconnectWatcher : IDisposable
{
    private const int EPOLL_CTL_ADD = 1;
    private const uint EPOLLIN = 1;
    private const int EFD_CLOEXEC = 0x80000;
    private const ulong WakeToken = ulong.MaxValue;
    private const uint EPOLLONESHOT = 1u << 30;
    private const int MaxEvents = 256;

    /// <summary>The longest the thread sleeps when the poll has nothing to do: only Dispose needs it awake.</summary>
    public const int IdleMilliseconds = 200;

    // x86-64 packs epoll_event to 12 bytes; other architectures align the data word to 8.
    private static readonly int s_eventSize = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 12 : 16;
    private static readonly int s_dataOffset = s_eventSize - 8;

    private readonly Action<ulong> _onReset;
    private readonly Func<long, int> _onPoll;
    // Kept as handles, so that Watch or Wake racing with Dispose never touches a descriptor number
    // that was closed and handed to someone else: the close waits for the last call in flight.
    private readonly Descriptor _epoll;
    private readonly Descriptor _wake;
    private readonly Thread _thread;
    private volatile bool _stopping;

    /// <param name="onReset">Called with the token of a watched socket that was reset.</param>
    /// <param name="onPoll">
    /// Called after every wake-up with the time now; returns how many milliseconds the thread may
    /// sleep before the next call (at most <see cref="IdleMilliseconds"/> is used).
    /// </param>
    public DisconnectWatcher(Action<ulong> onReset, Func<long, int> onPoll)
    {
        _onReset = onReset;
        _onPoll = onPoll;
        _epoll = new Descriptor(Libc.epoll_create1(Libc.EPOLL_CLOEXEC));
        if (_epoll.IsInvalid)
        {
            throw new SocketException(Marshal.GetLastPInvokeError());
        }
        // An eventfd in the set lets Wake and Dispose rouse the thread at once instead of after its wait.
        _wake = new Descriptor(Libc.eventfd(0, EFD_CLOEXEC));
        if (_wake.IsInvalid)
        {
            int errno = Marshal.GetLastPInvokeError();
            _epoll.Dispose();
            throw new SocketException(errno);
        }
        AddWake();
        _thread = new Thread(Run) { IsBackground = true, Name = "tstun disconnect watcher" };
        _thread.Start();
    }

    /// <summary>Reports <paramref name="token"/> once if <paramref name="socket"/> is reset. Harmless if it already closed.</summary>
    public unsafe void Watch(Socket socket, ulong token)
    {
        // Closed already: whoever closed it ended the wait.
        if (!NonBlockingIo.TryAddRef(socket, out var handle, out int fd))
        {
            return;
        }
        bool added = false;
        try
        {
            _epoll.DangerousAddRef(ref added);
            byte* ev = stackalloc byte[16];
            BinaryPrimitives.WriteUInt32LittleEndian(new Span<byte>(ev, 4), EPOLLONESHOT);
            BinaryPrimitives.WriteUInt64LittleEndian(new Span<byte>(ev + s_dataOffset, 8), token);
            Libc.epoll_ctl(_epoll.Fd, EPOLL_CTL_ADD, fd, ev);
        }
        catch (ObjectDisposedException)
        {
            // The server is stopping: it ends this wait itself.
        }
        finally
        {
            if (added)
            {
                _epoll.DangerousRelease();
            }
            handle.DangerousRelease();
        }
    }

    /// <summary>Rouses the thread now, so the poll runs at once (one write to an eventfd).</summary>
    public unsafe void Wake()
    {
        bool added = false;
        try
        {
            _wake.DangerousAddRef(ref added);
            ulong one = 1;
            _ = Libc.write(_wake.Fd, &one, sizeof(ulong));
        }
        catch (ObjectDisposedException)
        {
            // Stopped: nothing left to rouse.
        }
        finally
        {
            if (added)
            {
                _wake.DangerousRelease();
            }
        }
    }

    private unsafe void AddWake()
    {
        byte* ev = stackalloc byte[16];
        BinaryPrimitives.WriteUInt32LittleEndian(new Span<byte>(ev, 4), EPOLLIN);
        BinaryPrimitives.WriteUInt64LittleEndian(new Span<byte>(ev + s_dataOffset, 8), WakeToken);
        Libc.epoll_ctl(_epoll.Fd, EPOLL_CTL_ADD, _wake.Fd, ev);
    }

    private unsafe void Run()
    {
        byte* events = (byte*)NativeMemory.Alloc((nuint)(MaxEvents * s_eventSize));
        try
        {
            int wait = IdleMilliseconds;
            while (!_stopping)
            {
                // The raw numbers are safe here: Dispose closes the handles only after this thread ends.
                int n = Libc.epoll_wait(_epoll.Fd, events, MaxEvents, wait);
                if (n < 0 && Marshal.GetLastPInvokeError() != Libc.EINTR)
                {
                    return;
                }
                for (int i = 0; i < n; i++)
                {
                    ulong token = BinaryPrimitives.ReadUInt64LittleEndian(new ReadOnlySpan<byte>(events + i * s_eventSize + s_dataOffset, 8));
                    if (token == WakeToken)
                    {
                        // Level-triggered: drained, or every later wait would return at once.
                        ulong count;
                        _ = Libc.read(_wake.Fd, &count, sizeof(ulong));
                    }
                    else
                    {
                        _onReset(token);
                    }
                }
                wait = Math.Clamp(_onPoll(Environment.TickCount64), 0, IdleMilliseconds);
            }
        }
        finally
        {
            NativeMemory.Free(events);
        }
    }

    public void Dispose()
    {
        if (_stopping)
        {
            return;
        }
        _stopping = true;
        Wake();
        _thread.Join();
        _epoll.Dispose();
        _wake.Dispose();
    }

    /// <summary>A descriptor from epoll_create1 or eventfd, closed once no call holds it.</summary>
    private sealed class Descriptor : SafeHandle
    {
        public Descriptor(int fd)
            : base(-1, ownsHandle: true) => SetHandle(fd);

        public int Fd => (int)handle;

        public override bool IsInvalid => (int)handle < 0;

        protected override bool ReleaseHandle() => Libc.close((int)handle) == 0;
    }
}
