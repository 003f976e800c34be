using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace Punchhole.Protocol;

/// <summary>
/// The standard descriptors, made safe to use whatever state the process was started in.
/// <para>
/// A program started with one of descriptors 0-2 closed (<c>&gt;&amp;-</c>, <c>2&gt;&amp;-</c>)
/// would hand that number to the next descriptor it opens, and a later write meant for stdout
/// or stderr would land in a socket or a file. So <see cref="Reserve"/>, called first thing,
/// takes each missing one with /dev/null (in an empty root, with an empty epoll instance) and
/// remembers that it was missing.
/// </para>
/// <para>
/// The writers go straight to descriptors 1 and 2, with no duplicate: .NET's Console duplicates
/// the descriptor first, which fails when the process is out of descriptors, exactly when an
/// error most needs saying.
/// </para>
/// </summary>
public static partial class StandardStreams
{
    private const int F_GETFD = 1;
    private const int EBADF = 9;
    private const int O_RDWR = 2;

    private static int s_missing;
    private static TextWriter? s_error;

    /// <summary>True when the process was started with stdout closed.</summary>
    public static bool OutputMissing => (Volatile.Read(ref s_missing) & 2) != 0;

    /// <summary>True when the process was started with stderr closed.</summary>
    public static bool ErrorMissing => (Volatile.Read(ref s_missing) & 4) != 0;

    /// <summary>Takes every missing standard descriptor, before anything else can be given its number. Call once, first.</summary>
    public static void Reserve()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }
        int missing = 0;
        for (int fd = 0; fd <= 2; fd++)
        {
            if (fcntl(fd, F_GETFD) >= 0 || Marshal.GetLastPInvokeError() != EBADF)
            {
                continue;
            }
            missing |= 1 << fd;
            // The lowest free number is this one: the lower ones are open or were just taken.
            if (open("/dev/null", O_RDWR) < 0)
            {
                _ = epoll_create1(0);
            }
        }
        Volatile.Write(ref s_missing, missing);
    }

    /// <summary>
    /// Stderr as a thread-safe writer that flushes every write; a writer that discards everything
    /// when stderr was closed. The same instance on every call.
    /// </summary>
    public static TextWriter Error
    {
        get
        {
            if (Volatile.Read(ref s_error) is { } error)
            {
                return error;
            }
            var made = ErrorMissing ? TextWriter.Null : Open(2);
            return Interlocked.CompareExchange(ref s_error, made, null) ?? made;
        }
    }

    /// <summary>
    /// Writes <paramref name="text"/> to stdout. Returns null, or why it could not be written
    /// (stdout closed, or a write error), as one line for the user.
    /// </summary>
    public static string? TryWriteOutput(string text)
    {
        if (OutputMissing)
        {
            return "standard output is closed";
        }
        try
        {
            using var output = Open(1);
            output.Write(text);
            output.Flush();
            return null;
        }
        catch (IOException e)
        {
            return e.Message;
        }
    }

    private static TextWriter Open(int fd)
    {
        var stream = new FileStream(new SafeFileHandle(fd, ownsHandle: false), FileAccess.Write, bufferSize: 0);
        return TextWriter.Synchronized(new StreamWriter(stream, new UTF8Encoding(false)) { AutoFlush = true });
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int fcntl(int fd, int command);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int open(string path, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int epoll_create1(int flags);
}
