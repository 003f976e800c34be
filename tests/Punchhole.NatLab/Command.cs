using System.Diagnostics;

namespace Punchhole.NatLab;

/// <summary>A failure of the lab itself (a command that failed, a host that did not come up).</summary>
public sealed class LabException(string message) : Exception(message);

/// <summary>Runs the short administrative commands the lab is built with (ip, iptables-restore, conntrack).</summary>
public static class Command
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(20);

    /// <summary>Runs <paramref name="file"/>; returns its stdout. Throws with its stderr when it fails or overruns.</summary>
    public static string Run(string file, IEnumerable<string> args, string? stdin = null, TimeSpan? timeout = null)
    {
        var (exit, output, error) = Execute(file, args, stdin, timeout ?? DefaultTimeout, out string line);
        if (exit != 0)
        {
            throw new LabException($"`{line}` exited with {exit}: {error.Trim()}{(stdin is null ? "" : $"\ninput was:\n{stdin}")}");
        }
        return output;
    }

    /// <summary>Runs <paramref name="file"/> and reports whether it succeeded; never throws for its failure.</summary>
    public static bool TryRun(string file, IEnumerable<string> args, out string output, string? stdin = null, TimeSpan? timeout = null)
    {
        try
        {
            var (exit, stdout, _) = Execute(file, args, stdin, timeout ?? DefaultTimeout, out _);
            output = stdout;
            return exit == 0;
        }
        catch (Exception e) when (e is LabException or System.ComponentModel.Win32Exception)
        {
            output = e.Message;
            return false;
        }
    }

    /// <summary>True when <paramref name="file"/> is an executable on PATH.</summary>
    public static bool Exists(string file)
    {
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin").Split(':'))
        {
            if (dir.Length > 0 && File.Exists(Path.Combine(dir, file)))
            {
                return true;
            }
        }
        return false;
    }

    private static (int Exit, string Output, string Error) Execute(string file, IEnumerable<string> args, string? stdin, TimeSpan timeout, out string line)
    {
        var info = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = stdin is not null,
            UseShellExecute = false,
        };
        foreach (string arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        line = string.Join(' ', [file, .. info.ArgumentList]);
        using var process = Process.Start(info) ?? throw new LabException($"could not start `{line}`");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            process.StandardInput.Write(stdin);
            process.StandardInput.Close();
        }
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            throw new LabException($"`{line}` did not finish within {timeout.TotalSeconds} s");
        }
        process.WaitForExit();
        return (process.ExitCode, output.GetAwaiter().GetResult(), error.GetAwaiter().GetResult());
    }
}
