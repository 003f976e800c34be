using System.Diagnostics;
using System.Net;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;

namespace Punchhole.Tests.Support;

/// <summary>A tstun executable run as a child process, with its stderr collected line by line.</summary>
internal sealed partial class ServerProcess : IDisposable
{
    private readonly Process _process;
    private readonly List<string> _lines = [];
    private readonly SemaphoreSlim _newLine = new(0);

    private ServerProcess(Process process)
    {
        _process = process;
        _process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                return;
            }
            lock (_lines)
            {
                _lines.Add(e.Data);
            }
            _newLine.Release();
        };
        _process.BeginErrorReadLine();
    }

    /// <summary>The JIT build of tstun that the test project's reference copies next to the tests.</summary>
    public static string BuiltExecutable => Path.Combine(AppContext.BaseDirectory, "tstun");

    public static ServerProcess Start(string executable, params string[] args) => StartIn(null, executable, args);

    /// <summary>Starts <paramref name="executable"/> with its open-file limit (soft and hard) set to <paramref name="openFiles"/>, through prlimit.</summary>
    public static ServerProcess StartWithFileLimit(int openFiles, string executable, params string[] args) =>
        StartIn(null, "prlimit", [$"--nofile={openFiles}:{openFiles}", "--", executable, .. args]);

    /// <summary>Starts <paramref name="executable"/> (a path inside the root) chrooted into <paramref name="chrootDirectory"/> when it is not null.</summary>
    public static ServerProcess StartIn(string? chrootDirectory, string executable, params string[] args)
    {
        var info = new ProcessStartInfo(chrootDirectory is null ? executable : "chroot")
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        if (chrootDirectory is not null)
        {
            info.ArgumentList.Add(chrootDirectory);
            info.ArgumentList.Add(executable);
        }
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        return new ServerProcess(Process.Start(info)!);
    }

    public int Id => _process.Id;

    public string[] Lines
    {
        get
        {
            lock (_lines)
            {
                return [.. _lines];
            }
        }
    }

    /// <summary>Waits for a stderr line containing <paramref name="text"/>; returns it.</summary>
    public async Task<string> WaitForLineAsync(string text, TimeSpan? wait = null)
    {
        var deadline = DateTime.UtcNow + (wait ?? TimeSpan.FromSeconds(20));
        while (true)
        {
            var found = Lines.FirstOrDefault(l => l.Contains(text, StringComparison.Ordinal));
            if (found is not null)
            {
                return found;
            }
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero)
            {
                throw new TimeoutException($"no line with '{text}' from tstun; it wrote:\n{string.Join('\n', Lines)}");
            }
            await _newLine.WaitAsync(left);
        }
    }

    /// <summary>Waits until the server logs where it listens; returns a loopback endpoint for it.</summary>
    public async Task<IPEndPoint> WaitUntilListeningAsync()
    {
        string line = await WaitForLineAsync("listening on");
        var match = PortPattern().Match(line);
        Assert.True(match.Success, line);
        return new IPEndPoint(IPAddress.Loopback, int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
    }

    public void Signal(int signal) => Assert.Equal(0, kill(_process.Id, signal));

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
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero)
            {
                throw new TimeoutException($"no stats line after SIGUSR1; tstun wrote:\n{string.Join('\n', Lines)}");
            }
            await _newLine.WaitAsync(left);
        }
    }

    private static bool IsStatsLine(string line) => line.Contains(" tstun: stats ", StringComparison.Ordinal);

    /// <summary>The name=value pairs of a summary line.</summary>
    public static Dictionary<string, long> ParseStats(string line) =>
        line[(line.StartsWith("stats ", StringComparison.Ordinal) ? 6 : line.IndexOf(" stats ", StringComparison.Ordinal) + 7)..]
            .Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Select(pair => pair.Split('='))
            .ToDictionary(kv => kv[0], kv => long.Parse(kv[1], System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>The exit code, or null if it has not exited within <paramref name="wait"/>.</summary>
    public async Task<int?> WaitForExitAsync(TimeSpan wait)
    {
        using var timeout = new CancellationTokenSource(wait);
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
            return _process.ExitCode;
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(5000);
        }
        _process.Dispose();
    }

    [GeneratedRegex(@"listening on \S*:(\d+)")]
    private static partial Regex PortPattern();

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int signal);
}
