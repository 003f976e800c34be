namespace Punchhole.Server;

/// <summary>
/// The sizes of a relayed direction's pipe. Linux charges every pipe's capacity (not the bytes in
/// it) to its owner: a process without CAP_SYS_RESOURCE, such as tstun under systemd's
/// DynamicUser, may hold 16,384 pages of pipes by default (fs.pipe-user-pages-soft, 64 MiB), and
/// past that the kernel makes new pipes 2 pages long and refuses to grow any. At the default
/// 64 KiB, two pipes per session, 512 idle sessions would spend the whole budget. So a pipe
/// starts at 2 pages (idle sessions: 1,000 of them take 4,000 pages), grows to 1 MiB when a
/// transfer fills it, and goes back to 2 pages once its direction has been idle for a sweep
/// (a second), which frees the pages for the next busy session.
/// </summary>
internal static unsafe class RelayPipes
{
    /// <summary>Two pages: the least a pipe gets from the kernel when its owner is over budget.</summary>
    public const int IdleBytes = 2 * 4096;

    /// <summary>The kernel's default ceiling for an unprivileged pipe (fs.pipe-max-size); 4 MiB measured slower.</summary>
    public const int BusyBytes = 1 << 20;

    private const int F_GETPIPE_SZ = 1032;

    /// <summary>A non-blocking pipe at <see cref="IdleBytes"/> (or what the kernel gave); false when none could be made.</summary>
    public static bool Open(ref RelayDirection direction)
    {
        int* fds = stackalloc int[2];
        if (Libc.pipe2(fds, Libc.O_NONBLOCK | Libc.O_CLOEXEC) != 0)
        {
            return false;
        }
        direction.PipeRead = fds[0];
        direction.PipeWrite = fds[1];
        int size = Libc.fcntl(fds[1], Libc.F_SETPIPE_SZ, IdleBytes);
        direction.Capacity = size > 0 ? size : Libc.fcntl(fds[1], F_GETPIPE_SZ, 0);
        return direction.Capacity > 0;
    }

    /// <summary>
    /// A transfer filled the pipe: a larger one moves more per splice and per wake-up. Asked once
    /// per busy spell; a refusal (the budget spent) leaves the pipe as it was until the next spell.
    /// </summary>
    public static void Grow(ref RelayDirection direction)
    {
        direction.Grown = true;
        int size = Libc.fcntl(direction.PipeWrite, Libc.F_SETPIPE_SZ, BusyBytes);
        if (size > direction.Capacity)
        {
            direction.Capacity = size;
        }
    }

    /// <summary>
    /// Called once a sweep (a second): a direction that read nothing since the last sweep and holds
    /// nothing gives its pages back and may grow again in its next busy spell; true when it went idle.
    /// </summary>
    public static bool Settle(ref RelayDirection direction)
    {
        bool idle = direction.Grown && !direction.ReadSinceSweep && direction.Buffered == 0 && direction.PipeWrite >= 0;
        direction.ReadSinceSweep = false;
        if (idle)
        {
            direction.Grown = false;
            if (direction.Capacity > IdleBytes)
            {
                int size = Libc.fcntl(direction.PipeWrite, Libc.F_SETPIPE_SZ, IdleBytes);
                if (size > 0)
                {
                    direction.Capacity = size;
                }
            }
        }
        return idle;
    }
}
