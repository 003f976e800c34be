using System.Runtime.InteropServices;

namespace Punchhole.Server;

/// <summary>
/// The libc calls the server makes itself (linked in statically by DirectPInvoke), in one place,
/// with the Linux constants they take.
/// </summary>
internal static partial class Libc
{
    public const int EINTR = 4;
    public const int EAGAIN = 11;
    public const int EPOLL_CLOEXEC = 0x80000;
    public const int IPPROTO_TCP = 6;
    public const int TCP_INFO = 11;

    /// <summary>The ioctl that reads how many bytes a TCP socket has sent but not had acknowledged (or not sent yet).</summary>
    public const nuint SIOCOUTQ = 0x5411;

    /// <summary>tcp_info's first byte once the connection is gone: reset, or given up after retransmissions.</summary>
    public const byte TCP_CLOSE = 7;

    [LibraryImport("libc", SetLastError = true)]
    public static unsafe partial nint recv(int fd, byte* buffer, nuint length, int flags);

    [LibraryImport("libc", SetLastError = true)]
    public static unsafe partial nint send(int fd, byte* buffer, nuint length, int flags);

    [LibraryImport("libc", SetLastError = true)]
    public static unsafe partial int ioctl(int fd, nuint request, int* argument);

    [LibraryImport("libc", SetLastError = true)]
    public static unsafe partial int getsockopt(int fd, int level, int name, void* value, int* length);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int epoll_create1(int flags);

    [LibraryImport("libc", SetLastError = true)]
    public static unsafe partial int epoll_ctl(int epfd, int op, int fd, void* ev);

    [LibraryImport("libc", SetLastError = true)]
    public static unsafe partial int epoll_wait(int epfd, void* events, int maxEvents, int timeout);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int eventfd(uint initval, int flags);

    [LibraryImport("libc", SetLastError = true)]
    public static unsafe partial nint read(int fd, void* buffer, nuint count);

    [LibraryImport("libc", SetLastError = true)]
    public static unsafe partial nint write(int fd, void* buffer, nuint count);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int close(int fd);
}
