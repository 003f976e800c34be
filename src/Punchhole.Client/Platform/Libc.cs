using System.Runtime.InteropServices;

namespace Punchhole.Client.Platform;

/// <summary>
/// The libc calls the client makes itself (linked in statically by DirectPInvoke), with the Linux
/// constants they take. Only the types in this folder call them, each behind
/// <c>OperatingSystem.IsLinux()</c> with a portable fallback; this is the list to port:
/// <list type="bullet">
/// <item><see cref="DescriptorStream"/> (read, write, lseek): stdin/stdout/stderr; elsewhere the console's streams.</item>
/// <item><see cref="StandardDescriptors"/> (fcntl, pipe, dup2, close): plugs closed standard descriptors; elsewhere nothing.</item>
/// <item><see cref="Terminal"/> (isatty, poll): terminals and waiting stdin; elsewhere Console.Is*Redirected, and "not known".</item>
/// <item><see cref="TcpDelivery"/> (ioctl SIOCOUTQ): the peer acknowledged everything; elsewhere only a pending error is checked.</item>
/// <item><see cref="TcpConnectionState"/> (TCP_INFO through Socket.GetRawSocketOption): a reset whose error a send took; elsewhere the EOF is trusted.</item>
/// </list>
/// </summary>
internal static partial class Libc
{
    public const int EINTR = 4;
    public const int EBADF = 9;
    public const int F_GETFD = 1;

    /// <summary>SIOCOUTQ (TIOCOUTQ): bytes written to a TCP socket that its peer has not acknowledged yet.</summary>
    public const nuint SIOCOUTQ = 0x5411;

    public const int SEEK_CUR = 1;

    [LibraryImport("libc", SetLastError = true)]
    public static partial int fcntl(int fd, int command);

    [LibraryImport("libc", SetLastError = true)]
    public static unsafe partial nint read(int fd, byte* buffer, nuint count);

    [LibraryImport("libc", SetLastError = true)]
    public static unsafe partial nint write(int fd, byte* buffer, nuint count);

    [LibraryImport("libc", SetLastError = true)]
    public static partial long lseek(int fd, long offset, int whence);

    [LibraryImport("libc", SetLastError = true)]
    public static unsafe partial int ioctl(int fd, nuint request, int* value);

    [LibraryImport("libc", SetLastError = true)]
    public static unsafe partial int pipe(int* fds);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int dup2(int from, int to);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int close(int fd);

    [LibraryImport("libc")]
    public static partial int isatty(int fd);

    public const short POLLIN = 1;

    [LibraryImport("libc", SetLastError = true)]
    public static unsafe partial int poll(PollFd* fds, nuint count, int timeoutMs);

    /// <summary>struct pollfd.</summary>
    public struct PollFd
    {
        public int Fd;
        public short Events;
        public short Returned;
    }
}
