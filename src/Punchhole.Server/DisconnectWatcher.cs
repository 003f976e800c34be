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
    private const int EFD_CLOEXEC = 0x80000;
    private const ulong WakeToken = ulong.MaxValue;
    private const int MaxEvents = 256;

    /// <summary>The longest the thread sleeps when the poll has nothing to do: only Dispose needs it awake.</summary>
    public const int IdleMilliseconds = 200;

    private readonly Action<ulong> _onReset;
    private readonly Func<long, int> _onPoll;
    // Kept as handles, so that Watch or Wake racing with Dispose never touches a descriptor number
    // that was closed and handed to someone else: the close waits for the last call in flight.
    private readonly OwnedDescriptor _epoll;
    private readonly OwnedDescriptor _wake;
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
        _epoll = Epoll.Create();
        // An eventfd in the set lets Wake and Dispose rouse the thread at once instead of after its wait.
        _wake = new OwnedDescriptor(Libc.eventfd(0, EFD_CLOEXEC));
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
    public void Watch(Socket socket, ulong token) => Control(socket, token, remove: false);

    private void Control(Socket socket, ulong token, bool remove)
    {
        // Closed already: whoever closed it ended the wait, and the close took it out of the set.
        if (!NonBlockingIo.TryAddRef(socket, out var handle, out int fd))
        {
            return;
        }
        bool added = false;
        try
        {
            _epoll.DangerousAddRef(ref added);
            _ = remove ? Epoll.Remove(_epoll.Fd, fd) : Epoll.Add(_epoll.Fd, fd, Epoll.ONESHOT, token);
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

    /// <summary>
    /// Takes a watched socket out of the set; call it before the socket is closed. A close alone
    /// removes it too, but not always at once: while this thread's epoll_wait looks at a socket
    /// that became ready (a wake-up with nothing for it to report), the kernel holds a reference to
    /// the socket's file. A close in that moment leaves the last reference, and so the real close
    /// and its FIN, to this thread, which runs it only on its way back from epoll_wait, up to
    /// <see cref="IdleMilliseconds"/> later: the client would have its reply at once and its end of
    /// stream up to that much later. Removing takes the set's lock, which that look holds, so once
    /// this returns the closing thread holds the last reference.
    /// </summary>
    public void Unwatch(Socket socket) => Control(socket, 0, remove: true);

    /// <summary>Rouses the thread now, so the poll runs at once (one write to an eventfd).</summary>
    public void Wake() => Epoll.Wake(_wake);

    private void AddWake() => Epoll.Add(_epoll.Fd, _wake.Fd, Epoll.IN, WakeToken);

    private unsafe void Run()
    {
        byte* events = (byte*)NativeMemory.Alloc((nuint)(MaxEvents * Epoll.EventSize));
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
                    ulong token = Epoll.Read(events, i, out _);
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
}
