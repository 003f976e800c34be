using System.Diagnostics;
using System.Globalization;
using System.Net;

namespace Punchhole.Tests.Support;

/// <summary>punchhole-hold run as a child: many idle connections held by another process.</summary>
internal sealed class HoldProcess : IDisposable
{
    private readonly Process _process;

    private HoldProcess(Process process) => _process = process;

    /// <summary>The helper's build, copied next to the tests by the project reference.</summary>
    public static string Executable => Path.Combine(AppContext.BaseDirectory, "punchhole-hold");

    public static HoldProcess Start(IPEndPoint server, int count, int sendBytes = 0, int firstSource = 1, int sources = 1)
    {
        var info = new ProcessStartInfo(Executable)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var arg in new object[] { server.Address, server.Port, count, sendBytes, firstSource, sources })
        {
            info.ArgumentList.Add(Convert.ToString(arg, CultureInfo.InvariantCulture)!);
        }
        return new HoldProcess(Process.Start(info)!);
    }

    /// <summary>Waits until every connection attempt has ended; returns how many are held.</summary>
    public async Task<int> WaitConnectedAsync(TimeSpan wait)
    {
        string line = await ReadLineAsync(wait);
        Assert.StartsWith("connected=", line, StringComparison.Ordinal);
        return int.Parse(line["connected=".Length..line.IndexOf(' ', StringComparison.Ordinal)], CultureInfo.InvariantCulture);
    }

    /// <summary>Closes every connection; returns how many the server had closed first.</summary>
    public async Task<int> ReleaseAsync(TimeSpan wait)
    {
        _process.StandardInput.Close();
        string line = await ReadLineAsync(wait);
        Assert.StartsWith("closed_by_server=", line, StringComparison.Ordinal);
        using var timeout = new CancellationTokenSource(wait);
        await _process.WaitForExitAsync(timeout.Token);
        return int.Parse(line["closed_by_server=".Length..], CultureInfo.InvariantCulture);
    }

    private async Task<string> ReadLineAsync(TimeSpan wait)
    {
        using var timeout = new CancellationTokenSource(wait);
        return await _process.StandardOutput.ReadLineAsync(timeout.Token)
            ?? throw new InvalidOperationException($"punchhole-hold exited with {(_process.HasExited ? _process.ExitCode : -1)} before answering");
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
}
