using System.Runtime.InteropServices;

namespace Punchhole.Client.Platform;

/// <summary>
/// Which of stdin, stdout and stderr were closed when the program started (<c>punchhole &gt;&amp;-</c>).
/// A closed one is plugged with a pipe end whose other end is closed, so reads give EOF and
/// writes fail: otherwise the next socket opened would take its number, and data or log lines
/// meant for the terminal would go to the T-STUN server or the peer.
/// </summary>
internal sealed record StandardDescriptors(bool InputClosed, bool OutputClosed, bool ErrorClosed)
{
    /// <summary>
    /// Checks and plugs descriptors 0-2; call it first thing, before anything opens a socket.
    /// Linux only; elsewhere they are taken as open. A runtime that opens files of its own before
    /// Main (the JIT host does, the static binary does not) may already hold a closed number.
    /// </summary>
    public static StandardDescriptors CheckAndPlug()
    {
        if (!OperatingSystem.IsLinux())
        {
            return new StandardDescriptors(false, false, false);
        }
        return new StandardDescriptors(PlugIfClosed(0), PlugIfClosed(1), PlugIfClosed(2));
    }

    private static unsafe bool PlugIfClosed(int fd)
    {
        if (Libc.fcntl(fd, Libc.F_GETFD) != -1 || Marshal.GetLastPInvokeError() != Libc.EBADF)
        {
            return false;
        }
        int* ends = stackalloc int[2];
        if (Libc.pipe(ends) != 0)
        {
            return true;
        }
        // stdin gets the read end (EOF, since the write end is closed); stdout and stderr the write end (EPIPE).
        int plug = fd == 0 ? ends[0] : ends[1];
        if (plug != fd)
        {
            // dup2 closes whatever held fd: the pipe's other end, if the lowest free numbers were taken.
            Libc.dup2(plug, fd);
        }
        for (int i = 0; i < 2; i++)
        {
            if (ends[i] != fd)
            {
                Libc.close(ends[i]);
            }
        }
        return true;
    }
}
