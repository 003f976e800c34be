using System.Diagnostics;
using System.Globalization;

namespace Punchhole.Load.Scenarios;

/// <summary>
/// Held pairings in a child process of this tool (<c>punchhole-load hold --child</c>), because one
/// process may hold only 20,000 descriptors here. They talk in lines: the child writes
/// <c>opened N</c> once its first halves wait, the parent answers <c>complete</c>, the child writes
/// <c>tally CPU_SECONDS ...</c> (its CPU time, then a serialized <see cref="RunTally"/>) and exits.
/// Its stderr is the parent's.
/// </summary>
internal sealed class ChildHoldGroup : IHoldGroup
{
    private readonly Process _process;
    private readonly TimeSpan _phaseLimit;

    private ChildHoldGroup(Process process, TimeSpan phaseLimit)
    {
        _process = process;
        _phaseLimit = phaseLimit;
    }

    /// <summary>Starts a child holding <paramref name="clients"/> clients against the same target.</summary>
    public static ChildHoldGroup Start(LoadOptions o, int clients)
    {
        var info = new ProcessStartInfo
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        // The apphost when there is one; else the same assembly through the dotnet host that runs us.
        string self = Path.Combine(AppContext.BaseDirectory, "punchhole-load");
        if (File.Exists(self))
        {
            info.FileName = self;
        }
        else
        {
            info.FileName = Environment.ProcessPath ?? "dotnet";
            info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "punchhole-load.dll"));
        }
        var c = CultureInfo.InvariantCulture;
        foreach (var arg in new[]
        {
            "hold", "--child", "--target", o.Target.ToString(), "--port", o.Port.ToString(c),
            "--sources", o.Sources.ToString(c), "--timeout", o.Timeout.TotalSeconds.ToString(c),
            "--clients", clients.ToString(c), "--processes", "1", "--settle-ms", "0",
            "--partner-port", (o.PartnerPort > 0 ? o.PartnerPort : o.Port).ToString(c),
        })
        {
            info.ArgumentList.Add(arg);
        }
        var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {info.FileName}");
        // Open and complete are each bounded by the timeout; start-up of a .NET process needs a little more.
        return new ChildHoldGroup(process, o.Timeout + TimeSpan.FromSeconds(10));
    }

    public async Task<int> OpenAsync()
    {
        string line = await ReadLineAsync("opened ");
        return int.Parse(line.AsSpan("opened ".Length), CultureInfo.InvariantCulture);
    }

    public async Task<RunTally> CompleteAsync()
    {
        await _process.StandardInput.WriteLineAsync("complete");
        await _process.StandardInput.FlushAsync();
        string line = await ReadLineAsync("tally ");
        string[] parts = line.Split(' ', 3);
        ChildCpuSeconds = double.Parse(parts[1], CultureInfo.InvariantCulture);
        return RunTally.Parse(parts[2]);
    }

    public double ChildCpuSeconds { get; private set; }

    private async Task<string> ReadLineAsync(string prefix)
    {
        using var timeout = new CancellationTokenSource(_phaseLimit);
        string? line;
        try
        {
            line = await _process.StandardOutput.ReadLineAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"child process {_process.Id} said nothing within {_phaseLimit.TotalSeconds:0} s");
        }
        if (line is null || !line.StartsWith(prefix, StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"child process {_process.Id} said '{line ?? "(nothing: it exited)"}', not '{prefix}...'");
        }
        return line;
    }

    public void Dispose()
    {
        // EOF on its stdin tells a child that is still waiting to give up; if it does not exit,
        // it is ended: our own child, by its Process object.
        try
        {
            _process.StandardInput.Close();
        }
        catch (IOException)
        {
            // It has gone already.
        }
        if (!_process.WaitForExit(TimeSpan.FromSeconds(5)))
        {
            _process.Kill();
            _process.WaitForExit(TimeSpan.FromSeconds(5));
        }
        _process.Dispose();
    }
}
