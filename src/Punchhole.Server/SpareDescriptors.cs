namespace Punchhole.Server;

/// <summary>
/// A few descriptors held back while the server accepts, and handed back to the process the moment
/// accept runs out of them (EMFILE/ENFILE), so the rest of the process still finds some: closing a
/// session's socket, logging, and the runtime itself (CoreCLR needs a descriptor to start a thread and
/// aborts with "Out of memory." when it cannot). Accepting resumes only once they are all taken back.
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
        TryTakeAll();
    }

    /// <summary>Takes every spare back; false (holding none) when the process cannot spare them yet.</summary>
    public bool TryTakeAll()
    {
        lock (_gate)
        {
            while (_count < _held.Length)
            {
                int fd = Libc.epoll_create1(Libc.EPOLL_CLOEXEC);
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
