using System.Diagnostics;
using System.Net;
using System.Text.RegularExpressions;

namespace Punchhole.Tests.Support;

/// <summary>A tstun executable run as a child process.</summary>
internal sealed partial class ServerProcess : ChildProcess
{
    private ServerProcess(ProcessStartInfo info)
        : base(info)
    {
    }

    /// <summary>The JIT build of tstun that the test project's reference copies next to the tests.</summary>
    public static string BuiltExecutable => Built("tstun");

    public static new ServerProcess Start(string executable, params string[] args) => StartIn(null, executable, args);

    /// <summary>Starts <paramref name="executable"/> with its open-file limit (soft and hard) set to <paramref name="openFiles"/>, through prlimit.</summary>
    public static ServerProcess StartWithFileLimit(int openFiles, string executable, params string[] args) =>
        StartIn(null, "prlimit", [$"--nofile={openFiles}:{openFiles}", "--", executable, .. args]);

    /// <summary>Starts <paramref name="executable"/> (a path inside the root) chrooted into <paramref name="chrootDirectory"/> when it is not null.</summary>
    public static ServerProcess StartIn(string? chrootDirectory, string executable, params string[] args) =>
        new(StartInfo(chrootDirectory, executable, args));

    /// <summary>Waits (20 s unless told) until the server logs where it listens; returns a loopback endpoint for it.</summary>
    public async Task<IPEndPoint> WaitUntilListeningAsync(TimeSpan? wait = null)
    {
        string line = await WaitForLineAsync("listening on", wait);
        var match = PortPattern().Match(line);
        Assert.True(match.Success, line);
        // A server bound to one IPv4 address is reached there; one bound to a wildcard, on 127.0.0.1.
        var address = IPAddress.TryParse(match.Groups[1].Value, out var bound) && bound.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork
            && !bound.Equals(IPAddress.Any) ? bound : IPAddress.Loopback;
        return new IPEndPoint(address, int.Parse(match.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>Sets the running server's open-file limit (soft and hard), as a shortage from outside would.</summary>
    public void SetFileLimit(int openFiles)
    {
        using var prlimit = Process.Start("prlimit", ["--pid", Id.ToString(System.Globalization.CultureInfo.InvariantCulture), $"--nofile={openFiles}:{openFiles}"]);
        prlimit.WaitForExit();
        Assert.Equal(0, prlimit.ExitCode);
    }

    /// <summary>
    /// Asks for the counters with SIGUSR1 (or, with <paramref name="signal"/> false, waits for the
    /// next periodic summary) and returns the summary line, parsed.
    /// </summary>
    public async Task<Dictionary<string, long>> StatsAsync(TimeSpan? wait = null, bool signal = true)
    {
        const int SIGUSR1 = 10;
        int before = Lines.Count(IsStatsLine);
        if (signal)
        {
            Signal(SIGUSR1);
        }
        var deadline = DateTime.UtcNow + (wait ?? TimeSpan.FromSeconds(10));
        while (true)
        {
            var lines = Lines.Where(IsStatsLine).ToArray();
            if (lines.Length > before)
            {
                return ParseStats(lines[before]);
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"no stats line; tstun wrote:\n{string.Join('\n', Lines)}");
            }
            await Task.Delay(10);
        }
    }

    /// <summary>
    /// Every accepted connection ends in exactly one counter, or is still open: the identity
    /// docs/ROBUSTNESS.md gives operators, checked at a quiet moment.
    /// </summary>
    public static void AssertAccountedFor(Dictionary<string, long> stats) =>
        Assert.Equal(stats["accepted"],
            2 * stats["paired"] + stats.GetValueOrDefault("cross_paired") + stats["timed_out"] + stats["key_timeouts"] + stats["bad_keys"] + stats["disconnected"]
            + stats["dead_waiters"] + stats["rejected_waiting"] + stats["rejected_connections"] + stats["rejected_per_ip"]
            + stats["rejected_per_source"] + stats["proxy_rejected"] + stats["health_checks"]
            + stats["bad_lines"] + stats["collisions"] + stats["relay_refused"] + stats["relay_rejected_busy"]
            + stats["relay_rejected_per_ip"] + stats["relay_leg_timeouts"] + 2 * stats["relay_ended"] + stats["active"]);

    private static bool IsStatsLine(string line) => line.Contains(" tstun: stats ", StringComparison.Ordinal);

    /// <summary>The name=value pairs of a summary line.</summary>
    public static Dictionary<string, long> ParseStats(string line) =>
        line[(line.StartsWith("stats ", StringComparison.Ordinal) ? 6 : line.IndexOf(" stats ", StringComparison.Ordinal) + 7)..]
            .Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Select(pair => pair.Split('='))
            .ToDictionary(kv => kv[0], kv => long.Parse(kv[1], System.Globalization.CultureInfo.InvariantCulture));

    [GeneratedRegex(@"listening on (\S*):(\d+)")]
    private static partial Regex PortPattern();
}
