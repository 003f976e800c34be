using System.Diagnostics;

namespace Punchhole.Tests.Support;

/// <summary>Prometheus's own checker (apt prometheus): <c>promtool check metrics</c> on an exposition text.</summary>
internal static class Promtool
{
    public const string Executable = "/usr/bin/promtool";

    /// <summary>Fails the test with promtool's words unless it accepts <paramref name="exposition"/>.</summary>
    public static async Task AssertValidAsync(string exposition)
    {
        Assert.True(File.Exists(Executable), $"{Executable} is missing: apt-get install -y prometheus");
        var info = new ProcessStartInfo(Executable, ["check", "metrics"])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        await process.StandardInput.WriteAsync(exposition);
        process.StandardInput.Close();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(timeout.Token);
        string said = (await output + await errors).Trim();
        Assert.True(process.ExitCode == 0 && said.Length == 0, $"promtool check metrics (exit {process.ExitCode}): {said}");
    }
}
