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

    /// <summary>Starts <paramref name="executable"/> (a path inside the root) chrooted into <paramref name="chrootDirectory"/> when it is not null.</summary>
    public static ServerProcess StartIn(string? chrootDirectory, string executable, params string[] args) =>
        new(StartInfo(chrootDirectory, executable, args));

    /// <summary>Waits until the server logs where it listens; returns a loopback endpoint for it.</summary>
    public async Task<IPEndPoint> WaitUntilListeningAsync()
    {
        string line = await WaitForLineAsync("listening on");
        var match = PortPattern().Match(line);
        Assert.True(match.Success, line);
        return new IPEndPoint(IPAddress.Loopback, int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
    }

    [GeneratedRegex(@"listening on \S*:(\d+)")]
    private static partial Regex PortPattern();
}
