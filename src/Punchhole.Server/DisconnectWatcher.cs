using System.Buffers.Binary;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Punchhole.Server;

/// <summary>
/// Notices a waiting client whose connection was reset. Waiting clients have sent their key and
/// usually half-closed, so no read can be kept pending on them and .NET's socket engine would not
/// report the reset. A private epoll set, asking for no events, still reports EPOLLHUP/EPOLLERR,
/// which a half-closed but live connection never raises. One-shot, so each registration fires once.
/// </summary>
internal sealed class DisconnectWatcher : IDisposable
{
    private const int EPOLL_CTL_ADD = 1;
    private const uint EPOLLIN = 1;
    private const int EFD_CLOEXEC = 0x80000;
    private const ulong WakeToken = ulong.MaxValue;
    private const uint EPOLLONESHOT = 1u << 30;
    private const int MaxEvents = 256;
    private const int WaitMilliseconds = 200;

    // x86-64 packs epoll_event to 12 bytes; other architectures align the data word to 8.
    private static readonly int s_eventSize = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 12 : 16;
    private static readonly int s_dataOffset = s_eventSize - 8;

    private readonly Action<ulong> _onReset;
    private readonly int _epoll;
    private readonly int _wake;
    private readonly Thread _thread;
    private volatile bool _stopping;

    public DisconnectWatcher(Action<ulong> onReset)
    {
        _onReset = onReset;
        _epoll = Libc.epoll_create1(Libc.EPOLL_CLOEXEC);
        if (_epoll < 0)
        {
            throw new SocketException(Marshal.GetLastPInvokeError());
        }
        // An eventfd in the set lets Dispose wake the thread at once instead of after its wait.
        _wake = Libc.eventfd(0, EFD_CLOEXEC);
        if (_wake < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            Libc.close(_epoll);
            throw new SocketException(errno);
        }
        AddWake();
        _thread = new Thread(Run) { IsBackground = true, Name = "tstun disconnect watcher" };
        _thread.Start();
    }

    /// <summary>Reports <paramref name="token"/> once if <paramref name="socket"/> is reset. Harmless if it already closed.</summary>
    public unsafe void Watch(Socket socket, ulong token)
    {
        var handle = socket.SafeHandle;
        bool added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            byte* ev = stackalloc byte[16];
            BinaryPrimitives.WriteUInt32LittleEndian(new Span<byte>(ev, 4), EPOLLONESHOT);
            BinaryPrimitives.WriteUInt64LittleEndian(new Span<byte>(ev + s_dataOffset, 8), token);
            Libc.epoll_ctl(_epoll, EPOLL_CTL_ADD, (int)handle.DangerousGetHandle(), ev);
        }
        catch (ObjectDisposedException)
        {
            // Closed already: whoever closed it ended the wait.
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    private unsafe void AddWake()
    {
        byte* ev = stackalloc byte[16];
        BinaryPrimitives.WriteUInt32LittleEndian(new Span<byte>(ev, 4), EPOLLIN);
        BinaryPrimitives.WriteUInt64LittleEndian(new Span<byte>(ev + s_dataOffset, 8), WakeToken);
        Libc.epoll_ctl(_epoll, EPOLL_CTL_ADD, _wake, ev);
    }

    private unsafe void Run()
    {
        byte* events = (byte*)NativeMemory.Alloc((nuint)(MaxEvents * s_eventSize));
        try
        {
            while (!_stopping)
            {
                int n = Libc.epoll_wait(_epoll, events, MaxEvents, WaitMilliseconds);
                if (n < 0 && Marshal.GetLastPInvokeError() != Libc.EINTR)
                {
                    return;
                }
                for (int i = 0; i < n; i++)
                {
                    ulong token = BinaryPrimitives.ReadUInt64LittleEndian(new ReadOnlySpan<byte>(events + i * s_eventSize + s_dataOffset, 8));
                    if (token != WakeToken)
                    {
                        _onReset(token);
                    }
                }
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
        WakeUp();
        _thread.Join();
        Libc.close(_epoll);
        Libc.close(_wake);
    }

    private unsafe void WakeUp()
    {
        ulong one = 1;
        _ = Libc.write(_wake, &one, sizeof(ulong));
    }
}
