using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Punchhole.Tests.Support;

/// <summary>
/// One of our executables run as a child process: stderr collected line by line, stdin and
/// stdout available as raw byte streams, every wait bounded.
/// </summary>
internal class ChildProcess : IDisposable
{
    private readonly Process _process;
    private readonly List<string> _lines = [];
    private readonly SemaphoreSlim _newLine = new(0);

    protected ChildProcess(ProcessStartInfo info)
    {
        info.RedirectStandardError = true;
        info.RedirectStandardOutput = true;
        info.RedirectStandardInput = true;
        info.UseShellExecute = false;
        _process = Process.Start(info)!;
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

    /// <summary>A JIT build of one of our programs, copied next to the tests by a project reference.</summary>
    public static string Built(string name) => Path.Combine(AppContext.BaseDirectory, name);

    public static ChildProcess Start(string executable, params string[] args) => new(StartInfo(null, executable, args));

    /// <summary>Starts a process set up by the caller (e.g. with its own environment); the streams are redirected here.</summary>
    public static ChildProcess Start(ProcessStartInfo info) => new(info);

    protected static ProcessStartInfo StartInfo(string? chrootDirectory, string executable, string[] args)
    {
        var info = new ProcessStartInfo(chrootDirectory is null ? executable : "chroot");
        if (chrootDirectory is not null)
        {
            info.ArgumentList.Add(chrootDirectory);
            info.ArgumentList.Add(executable);
        }
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        return info;
    }

    public int Id => _process.Id;

    public Stream Input => _process.StandardInput.BaseStream;

    public Stream Output => _process.StandardOutput.BaseStream;

    public bool HasExited => _process.HasExited;

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
                throw new TimeoutException($"no line with '{text}' from {Path.GetFileName(_process.StartInfo.FileName)}; it wrote:\n{string.Join('\n', Lines)}");
            }
            await _newLine.WaitAsync(left);
        }
    }

    public void Signal(int signal) => Assert.Equal(0, kill(_process.Id, signal));

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
        _newLine.Dispose();
        GC.SuppressFinalize(this);
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int signal);
}
