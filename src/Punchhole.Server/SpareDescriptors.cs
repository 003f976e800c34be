namespace Punchhole.Server;

/// <summary>
/// A few descriptors held back while the server accepts, and handed back to the process the moment
/// accept runs out of them (EMFILE/ENFILE) all the same, so the rest of the process still finds some:
/// closing a session's socket, logging, and the runtime itself (CoreCLR needs descriptors to start a
/// thread). Accepting resumes only once they are all taken back.
/// Each spare is an empty epoll instance: it needs no file system, so it works in an empty root too.
/// </summary>
internal sealed class SpareDescriptors : IDisposable
{
    private readonly int[] _held;
    private readonly Lock _gate = new();
    private int _count;

    public SpareDescriptors(int count)
    {
        _held = new int[count];
        TryTakeAll(long.MaxValue);
    }

    /// <summary>
    /// Takes every spare back; false (holding none) when the process cannot spare them yet: no
    /// descriptor left, or one numbered <paramref name="ceiling"/> or above (the numbers kept free).
    /// </summary>
    public bool TryTakeAll(long ceiling)
    {
        lock (_gate)
        {
            while (_count < _held.Length)
            {
                int fd = Libc.epoll_create1(Libc.EPOLL_CLOEXEC);
                if (fd >= ceiling)
                {
                    Libc.close(fd);
                    fd = -1;
                }
                if (fd < 0)
                {
                    ReleaseAllLocked();
                    return false;
                }
                _held[_count++] = fd;
            }
            return true;
        }
    }

    /// <summary>
    /// The number the process's next descriptor would get (Linux gives the lowest one free), found
    /// by opening one and closing it at once; -1 when none is free.
    /// </summary>
    public static int NextFree()
    {
        int fd = Libc.epoll_create1(Libc.EPOLL_CLOEXEC);
        if (fd >= 0)
        {
            Libc.close(fd);
        }
        return fd;
    }

    /// <summary>Gives every spare back to the process.</summary>
    public void ReleaseAll()
    {
        lock (_gate)
        {
            ReleaseAllLocked();
        }
    }

    private void ReleaseAllLocked()
    {
        while (_count > 0)
        {
            Libc.close(_held[--_count]);
        }
    }

    public void Dispose() => ReleaseAll();
}
