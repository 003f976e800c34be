namespace Punchhole.Client.Platform;

/// <summary>What the client needs to know of its standard streams without reading them: terminals, and stdin waiting.</summary>
internal static class Terminal
{
    public static bool IsInput => Is(0, () => !Console.IsInputRedirected);

    public static bool IsError => Is(2, () => !Console.IsErrorRedirected);

    /// <summary>
    /// Whether stdin can be read at once (data or EOF waiting), without reading it. Linux only;
    /// elsewhere false, and a read that has not finished simply counts as no data.
    /// </summary>
    public static unsafe bool InputReady()
    {
        if (!OperatingSystem.IsLinux())
        {
            return false;
        }
        var fd = new Libc.PollFd { Fd = 0, Events = Libc.POLLIN };
        return Libc.poll(&fd, 1, 0) == 1 && (fd.Returned & Libc.POLLIN) != 0;
    }

    private static bool Is(int fd, Func<bool> portable) =>
        OperatingSystem.IsLinux() ? Libc.isatty(fd) == 1 : portable();
}
