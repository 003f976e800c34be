using System.Globalization;
using System.Runtime.InteropServices;

namespace Punchhole.Load;

/// <summary>The server's memory and CPU as its /proc files tell them, at one moment.</summary>
internal readonly record struct ServerSample(long RssKb, double CpuSeconds);

/// <summary>
/// Watches the server process (given by --server-pid): resident memory from /proc/PID/status
/// (VmRSS) and CPU time, user plus system, from /proc/PID/stat. Works for any server, ours or
/// the C reference, since it asks the kernel and not the server.
/// </summary>
internal sealed partial class ServerProbe
{
    private const int _SC_CLK_TCK = 2;

    private static readonly long s_ticksPerSecond = ReadTicksPerSecond();

    private ServerProbe(int pid, string name)
    {
        Pid = pid;
        Name = name;
    }

    public int Pid { get; }

    /// <summary>The process's command name (/proc/PID/comm), for reports.</summary>
    public string Name { get; }

    /// <summary>A probe of <paramref name="pid"/>; throws ArgumentException when no such process is readable.</summary>
    public static ServerProbe For(int pid)
    {
        string comm = $"/proc/{pid}/comm";
        if (pid <= 0 || !File.Exists(comm))
        {
            throw new ArgumentException($"no process {pid} to watch (--server-pid)");
        }
        return new ServerProbe(pid, File.ReadAllText(comm).Trim());
    }

    public ServerSample Sample() => new(ReadRssKb(), ReadCpuSeconds());

    /// <summary>VmRSS in kB: what the server holds in memory now.</summary>
    public long ReadRssKb()
    {
        foreach (var line in File.ReadLines($"/proc/{Pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line.AsSpan(6).Trim().TrimEnd("kB").Trim(), CultureInfo.InvariantCulture);
            }
        }
        throw new InvalidOperationException($"/proc/{Pid}/status has no VmRSS line");
    }

    /// <summary>utime + stime in seconds.</summary>
    public double ReadCpuSeconds()
    {
        // The command name (field 2) is in parentheses and may hold spaces: count fields after the last ')'.
        string stat = File.ReadAllText($"/proc/{Pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        // fields[0] is field 3 (state), so utime (field 14) and stime (field 15) are fields[11] and fields[12].
        long ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        return ticks / (double)s_ticksPerSecond;
    }

    private static long ReadTicksPerSecond()
    {
        long ticks = OperatingSystem.IsLinux() ? sysconf(_SC_CLK_TCK) : -1;
        return ticks > 0 ? ticks : 100;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial long sysconf(int name);
}
