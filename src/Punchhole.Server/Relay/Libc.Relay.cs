using System.Runtime.InteropServices;

namespace Punchhole.Server;

/// <summary>The calls the relay makes to move bytes: splice(2) through a pipe, and the socket's half-close.</summary>
internal static partial class Libc
{
    public const int EPIPE = 32;
    public const int O_NONBLOCK = 0x800;
    public const int O_CLOEXEC = 0x80000;
    public const int F_SETPIPE_SZ = 1031;
    public const int SHUT_WR = 1;

    /// <summary>splice(2): don't block on the pipe (the sockets are non-blocking themselves).</summary>
    public const uint SPLICE_F_NONBLOCK = 0x02;

    /// <summary>splice(2): move pages rather than copy where the kernel can.</summary>
    public const uint SPLICE_F_MOVE = 0x01;

    [LibraryImport("libc", SetLastError = true)]
    public static unsafe partial nint splice(int fdIn, long* offIn, int fdOut, long* offOut, nuint length, uint flags);

    [LibraryImport("libc", SetLastError = true)]
    public static unsafe partial int pipe2(int* fds, int flags);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int fcntl(int fd, int command, int argument);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int shutdown(int fd, int how);

    public const int SOL_SOCKET = 1;
    public const int SO_SNDBUF = 7;

    [LibraryImport("libc", SetLastError = true)]
    public static unsafe partial int setsockopt(int fd, int level, int name, void* value, int length);
}
