using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Punchhole.Server;

/// <summary>
/// epoll(7) for the server's own event threads (the disconnect watcher and the relay): the event
/// record's layout, and adding a descriptor with a 64-bit token.
/// </summary>
internal static class Epoll
{
    public const int CTL_ADD = 1;
    public const int CTL_DEL = 2;
    public const uint IN = 0x001;
    public const uint OUT = 0x004;
    public const uint ERR = 0x008;
    public const uint HUP = 0x010;
    public const uint RDHUP = 0x2000;
    public const uint ONESHOT = 1u << 30;
    public const uint ET = 1u << 31;

    /// <summary>The size of one epoll_event: x86-64 packs it to 12 bytes; other architectures align the data word to 8.</summary>
    public static readonly int EventSize = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 12 : 16;

    private static readonly int s_dataOffset = EventSize - 8;

    /// <summary>A new epoll set; throws on failure.</summary>
    public static OwnedDescriptor Create()
    {
        var epoll = new OwnedDescriptor(Libc.epoll_create1(Libc.EPOLL_CLOEXEC));
        if (epoll.IsInvalid)
        {
            throw new System.Net.Sockets.SocketException(Marshal.GetLastPInvokeError());
        }
        return epoll;
    }

    /// <summary>Adds <paramref name="fd"/> for <paramref name="events"/>, reported with <paramref name="token"/>; 0 or -1 (errno set).</summary>
    public static unsafe int Add(int epfd, int fd, uint events, ulong token)
    {
        byte* ev = stackalloc byte[16];
        BinaryPrimitives.WriteUInt32LittleEndian(new Span<byte>(ev, 4), events);
        BinaryPrimitives.WriteUInt64LittleEndian(new Span<byte>(ev + s_dataOffset, 8), token);
        return Libc.epoll_ctl(epfd, CTL_ADD, fd, ev);
    }

    /// <summary>Takes <paramref name="fd"/> out of the set; 0 or -1 (errno set, ENOENT when it was not in it).</summary>
    public static unsafe int Remove(int epfd, int fd)
    {
        // A non-null event pointer, for kernels before 2.6.9; it is not read.
        byte* ev = stackalloc byte[16];
        return Libc.epoll_ctl(epfd, CTL_DEL, fd, ev);
    }

    /// <summary>The events and token of the <paramref name="index"/>-th record in a buffer epoll_wait filled.</summary>
    public static unsafe ulong Read(byte* events, int index, out uint flags)
    {
        byte* ev = events + index * EventSize;
        flags = BinaryPrimitives.ReadUInt32LittleEndian(new ReadOnlySpan<byte>(ev, 4));
        return BinaryPrimitives.ReadUInt64LittleEndian(new ReadOnlySpan<byte>(ev + s_dataOffset, 8));
    }

    /// <summary>
    /// Rouses a thread blocked in epoll_wait on <paramref name="eventFd"/>: one write to the
    /// eventfd. Does nothing once the descriptor is disposed (the thread has stopped).
    /// </summary>
    public static unsafe void Wake(OwnedDescriptor eventFd)
    {
        bool added = false;
        try
        {
            eventFd.DangerousAddRef(ref added);
            ulong one = 1;
            _ = Libc.write(eventFd.Fd, &one, sizeof(ulong));
        }
        catch (ObjectDisposedException)
        {
            // Stopped: nothing left to rouse.
        }
        finally
        {
            if (added)
            {
                eventFd.DangerousRelease();
            }
        }
    }
}

/// <summary>A descriptor from epoll_create1, eventfd or pipe2, closed once no call holds it.</summary>
internal sealed class OwnedDescriptor : SafeHandle
{
    public OwnedDescriptor(int fd)
        : base(-1, ownsHandle: true) => SetHandle(fd);

    public int Fd => (int)handle;

    public override bool IsInvalid => (int)handle < 0;

    protected override bool ReleaseHandle() => Libc.close((int)handle) == 0;
}
