using System.Runtime.InteropServices;

namespace Punchhole.Protocol;

/// <summary>
/// RLIMIT_NOFILE: every client is a descriptor, so the server and the load tool raise their
/// soft limit to the hard one at start, as any busy network server does.
/// </summary>
public static partial class OpenFileLimit
{
    private const int RLIMIT_NOFILE = 7;

    /// <summary>Raises the soft limit to the hard limit; returns the soft limit now in force, or -1 if unknown.</summary>
    public static long RaiseToHardLimit()
    {
        if (!OperatingSystem.IsLinux() || getrlimit(RLIMIT_NOFILE, out var limit) != 0)
        {
            return -1;
        }
        if (limit.Current < limit.Maximum)
        {
            var raised = new RLimit { Current = limit.Maximum, Maximum = limit.Maximum };
            if (setrlimit(RLIMIT_NOFILE, in raised) == 0)
            {
                return (long)Math.Min(limit.Maximum, long.MaxValue);
            }
        }
        return (long)Math.Min(limit.Current, long.MaxValue);
    }

    /// <summary>The soft limit in force now, or -1 if unknown (a limit can be changed from outside, by prlimit).</summary>
    public static long Current() =>
        OperatingSystem.IsLinux() && getrlimit(RLIMIT_NOFILE, out var limit) == 0 ? (long)Math.Min(limit.Current, long.MaxValue) : -1;

    /// <summary>How many descriptors the process has open now (0 if unknown).</summary>
    public static int CountOpen()
    {
        try
        {
            // Less the one the listing itself holds open.
            return Math.Max(0, Directory.GetFiles("/proc/self/fd").Length - 1);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return 0;
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct RLimit
    {
        public ulong Current;
        public ulong Maximum;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int getrlimit(int resource, out RLimit limit);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int setrlimit(int resource, in RLimit limit);
}
