using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;

namespace Punchhole.NatLab;

/// <summary>
/// A program running on a lab host (`ip netns exec NS program ...`, which execs the program, so
/// the process id is the program's own). Its stderr is collected line by line with the time each
/// line arrived; its stdout is drained as it comes: counted, hashed (SHA-256) and, up to a cap,
/// kept as text. Stdin is open for the caller to write to and close.
/// </summary>
public sealed class LabProcess : IDisposable
{
    /// <summary>Stdout kept as text up to this many bytes; the hash and the count cover all of it.</summary>
    public const int TextCap = 1 << 20;

    private readonly Process _process;
    private readonly Stopwatch _clock;
    private readonly List<(TimeSpan At, string Text)> _lines = [];
    private readonly MemoryStream _text = new();
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly Task _stdoutPump;
    private readonly TaskCompletionSource _stderrClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly object _gate = new();
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _stdoutLength;
    private byte[]? _stdoutSha256;
    private TimeSpan? _exited;

    private LabProcess(LabHost host, string program, IReadOnlyList<string> args, Stopwatch clock)
    {
        Host = host;
        Name = $"{host.Role}:{Path.GetFileName(program)}";
        CommandLine = string.Join(' ', [Path.GetFileName(program), .. args]);
        var info = new ProcessStartInfo("ip")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string arg in (string[])["netns", "exec", host.Namespace, program, .. args])
        {
            info.ArgumentList.Add(arg);
        }
        _clock = clock;
        _process = new Process { StartInfo = info, EnableRaisingEvents = true };
        _process.Exited += (_, _) =>
        {
            Exited = _clock.Elapsed;
            Signal();
        };
        _process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                _stderrClosed.TrySetResult();
            }
            else
            {
                lock (_gate)
                {
                    _lines.Add((_clock.Elapsed, e.Data));
                }
            }
            Signal();
        };
        _process.Start();
        Started = _clock.Elapsed;
        _process.BeginErrorReadLine();
        _stdoutPump = Task.Run(PumpStdoutAsync);
    }

    /// <summary>Starts <paramref name="program"/> on <paramref name="host"/>; times are read from <paramref name="clock"/>.</summary>
    public static LabProcess Start(LabHost host, string program, IReadOnlyList<string> args, Stopwatch? clock = null) =>
        new(host, program, args, clock ?? Stopwatch.StartNew());

    public LabHost Host { get; }

    /// <summary>"client-a:punchhole" and the like, for messages.</summary>
    public string Name { get; }

    public string CommandLine { get; }

    public int Id => _process.Id;

    /// <summary>When the process was started, on the clock it was given.</summary>
    public TimeSpan Started { get; }

    /// <summary>When it was seen to have exited, on the same clock (null while running).</summary>
    public TimeSpan? Exited
    {
        get
        {
            lock (_gate)
            {
                return _exited;
            }
        }
        private set
        {
            lock (_gate)
            {
                _exited = value;
            }
        }
    }

    public Stream Stdin => _process.StandardInput.BaseStream;

    public bool HasExited => _process.HasExited;

    public int? ExitCode => _process.HasExited ? _process.ExitCode : null;

    /// <summary>Completes when stdout reached EOF (the process closed it or exited).</summary>
    public Task StdoutClosed => _stdoutPump;

    public long StdoutLength => Interlocked.Read(ref _stdoutLength);

    /// <summary>SHA-256 of everything the process wrote to stdout; null until stdout is closed.</summary>
    public byte[]? StdoutSha256
    {
        get
        {
            lock (_gate)
            {
                return _stdoutSha256;
            }
        }
    }

    /// <summary>Stdout so far as UTF-8 text (at most <see cref="TextCap"/> bytes of it).</summary>
    public string StdoutText
    {
        get
        {
            lock (_gate)
            {
                return Encoding.UTF8.GetString(_text.GetBuffer(), 0, (int)_text.Length);
            }
        }
    }

    public IReadOnlyList<(TimeSpan At, string Text)> StderrLines
    {
        get
        {
            lock (_gate)
            {
                return [.. _lines];
            }
        }
    }

    /// <summary>Waits for a stderr line matching <paramref name="match"/>; null if the process ended first or the wait ran out.</summary>
    public async Task<(TimeSpan At, string Text)?> WaitForLineAsync(Func<string, bool> match, TimeSpan wait)
    {
        var deadline = _clock.Elapsed + wait;
        while (true)
        {
            Task changed;
            lock (_gate)
            {
                foreach (var line in _lines)
                {
                    if (match(line.Text))
                    {
                        return line;
                    }
                }
                changed = _changed.Task;
            }
            if (_stderrClosed.Task.IsCompleted)
            {
                return null;
            }
            var left = deadline - _clock.Elapsed;
            if (left <= TimeSpan.Zero)
            {
                return null;
            }
            await Task.WhenAny(changed, Task.Delay(left));
        }
    }

    /// <summary>Waits until stdout holds <paramref name="text"/>; false if it closed first or the wait ran out.</summary>
    public async Task<bool> WaitForStdoutAsync(string text, TimeSpan wait)
    {
        var deadline = _clock.Elapsed + wait;
        while (true)
        {
            Task changed;
            lock (_gate)
            {
                changed = _changed.Task;
            }
            if (StdoutText.Contains(text, StringComparison.Ordinal))
            {
                return true;
            }
            if (_stdoutPump.IsCompleted)
            {
                return false;
            }
            var left = deadline - _clock.Elapsed;
            if (left <= TimeSpan.Zero)
            {
                return false;
            }
            await Task.WhenAny(changed, Task.Delay(left));
        }
    }

    /// <summary>The exit code, or null if the process is still running after <paramref name="wait"/>. Stdout and stderr are drained first.</summary>
    public async Task<int?> WaitForExitAsync(TimeSpan wait)
    {
        using var timeout = new CancellationTokenSource(wait);
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
            await Task.WhenAll(_stdoutPump, _stderrClosed.Task).WaitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            return null;
        }
        return _process.ExitCode;
    }

    /// <summary>Writes <paramref name="text"/> to stdin and flushes it.</summary>
    public async Task WriteAsync(string text)
    {
        await Stdin.WriteAsync(Encoding.UTF8.GetBytes(text));
        await Stdin.FlushAsync();
    }

    /// <summary>Writes all of <paramref name="data"/> to stdin, then closes stdin (EOF) when <paramref name="close"/>.</summary>
    public async Task FeedAsync(ReadOnlyMemory<byte> data, bool close = true, CancellationToken cancel = default)
    {
        const int Chunk = 64 * 1024;
        for (int offset = 0; offset < data.Length; offset += Chunk)
        {
            await Stdin.WriteAsync(data.Slice(offset, Math.Min(Chunk, data.Length - offset)), cancel);
        }
        await Stdin.FlushAsync(cancel);
        if (close)
        {
            CloseStdin();
        }
    }

    /// <summary>Closes stdin: the program sees EOF.</summary>
    public void CloseStdin()
    {
        try
        {
            _process.StandardInput.Close();
        }
        catch (IOException)
        {
            // The program is gone already (broken pipe on the final flush): stdin is closed anyway.
        }
    }

    /// <summary>SIGKILL, if it still runs.</summary>
    public void Kill()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException)
        {
            // It exited between the check and the kill.
        }
    }

    /// <summary>Everything known about the run, for assertion messages.</summary>
    public string Describe()
    {
        var text = new StringBuilder();
        text.Append(Name).Append(" `").Append(CommandLine).Append("` ");
        text.Append(_process.HasExited ? $"exited {_process.ExitCode}" : "still running");
        text.Append(", stdout ").Append(StdoutLength).Append(" bytes; stderr:");
        foreach (var (at, line) in StderrLines)
        {
            text.Append("\n  [").Append((at - Started).TotalSeconds.ToString("0.000", System.Globalization.CultureInfo.InvariantCulture)).Append(" s] ").Append(line);
        }
        return text.ToString();
    }

    public void Dispose()
    {
        Kill();
        _process.Dispose();
        _hash.Dispose();
    }

    private void Signal()
    {
        TaskCompletionSource old;
        lock (_gate)
        {
            old = _changed;
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        old.TrySetResult();
    }

    private async Task PumpStdoutAsync()
    {
        var buffer = new byte[64 * 1024];
        var stdout = _process.StandardOutput.BaseStream;
        try
        {
            while (true)
            {
                int n = await stdout.ReadAsync(buffer);
                if (n == 0)
                {
                    break;
                }
                lock (_gate)
                {
                    _hash.AppendData(buffer, 0, n);
                    if (_text.Length < TextCap)
                    {
                        _text.Write(buffer, 0, (int)Math.Min(n, TextCap - _text.Length));
                    }
                }
                Interlocked.Add(ref _stdoutLength, n);
                Signal();
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            // The process was killed and disposed under us.
        }
        lock (_gate)
        {
            _stdoutSha256 = _hash.GetHashAndReset();
        }
        Signal();
    }
}
