using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Punchhole.Tests.Support;

namespace Punchhole.Tests.Server;

/// <summary>
/// The published tstun in the situations that can crash a .NET program or print runtime internals: a
/// closed or full stdout or stderr, an open-file limit too small to run with. Every failure is
/// one English line and exit code 1; no stack trace, no runtime resource key.
/// </summary>
public partial class ServerMessagesTests
{
    private const int SIGTERM = 15;
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    /// <summary>Runs the published tstun through sh, so that <paramref name="redirections"/> (say "&gt;&amp;-") apply to it.</summary>
    private static ServerProcess StartWith(string redirections, params string[] args) =>
        ServerProcess.Start("/bin/sh", ["-c", $"exec \"$0\" \"$@\" {redirections}", RepositoryPaths.RequireArtifact("tstun/tstun"), .. args]);

    private static void AssertReadable(IEnumerable<string> lines)
    {
        foreach (string line in lines)
        {
            Assert.DoesNotContain("Unhandled exception", line, StringComparison.Ordinal);
            Assert.False(StackFrame().IsMatch(line), $"a stack frame: {line}");
            Assert.False(ResourceKey().IsMatch(line), $"a runtime resource key: {line}");
        }
    }

    [SkippableFact(Timeout = 60_000)]
    public async Task Started_with_stdout_closed_it_serves_pairs_and_stops_cleanly()
    {
        using var server = StartWith(">&-", "--port", "0", "--bind", "127.0.0.1");
        var endPoint = await server.WaitUntilListeningAsync();
        await Pairing.PairAsync(endPoint);
        server.Signal(SIGTERM);
        Assert.Equal(0, await server.WaitForExitAsync(Wait));
        Assert.Contains(server.Lines, l => l.Contains("stopped; stats accepted=2 paired=1 ", StringComparison.Ordinal));
        AssertReadable(server.Lines);
    }

    [SkippableTheory(Timeout = 30_000)]
    [InlineData(">&-", "standard output is closed")]
    [InlineData(">/dev/full", "No space left on device")]
    public async Task Help_that_cannot_be_written_is_one_line_and_exit_code_1(string redirection, string why)
    {
        using var server = StartWith(redirection, "--help");
        Assert.Equal(1, await server.WaitForExitAsync(Wait));
        var line = Assert.Single(server.Lines, l => l.Length > 0);
        Assert.Equal($"tstun: cannot write to standard output: {why}", line);
    }

    [SkippableFact(Timeout = 60_000)]
    public async Task Started_with_stderr_closed_it_serves_and_writes_nothing_to_stdout()
    {
        int port = LocalPorts.Free();
        using var server = StartWith("2>&-", "--port", port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1");
        var endPoint = new IPEndPoint(IPAddress.Loopback, port);
        Assert.True(await LocalPorts.AcceptsAsync(endPoint, Wait), "tstun never listened");
        await Pairing.PairAsync(endPoint);
        server.Signal(SIGTERM);
        Assert.Equal(0, await server.WaitForExitAsync(Wait));
        // Had the closed stderr's number gone to a duplicate of stdout, the log would be here.
        using var stdout = new MemoryStream();
        await server.Output.CopyToAsync(stdout).WaitAsync(Wait);
        Assert.Equal("", System.Text.Encoding.UTF8.GetString(stdout.ToArray()));
        Assert.Empty(server.Lines);
    }

    [SkippableFact(Timeout = 60_000)]
    public async Task A_full_stderr_does_not_stop_the_server()
    {
        int port = LocalPorts.Free();
        using var server = StartWith("2>/dev/full", "--port", port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--stats-interval", "1");
        var endPoint = new IPEndPoint(IPAddress.Loopback, port);
        Assert.True(await LocalPorts.AcceptsAsync(endPoint, Wait), "tstun never listened");
        // Past a summary line or two, each a failed write.
        await Task.Delay(TimeSpan.FromSeconds(2.5));
        await Pairing.PairAsync(endPoint);
        server.Signal(SIGTERM);
        Assert.Equal(0, await server.WaitForExitAsync(Wait));
    }

    [SkippableTheory(Timeout = 30_000)]
    [InlineData(6)]
    [InlineData(10)]
    [InlineData(100)]
    public async Task An_open_file_limit_too_small_to_run_with_is_one_line_and_exit_code_1(int openFiles)
    {
        using var server = ServerProcess.StartWithFileLimit(openFiles, RepositoryPaths.RequireArtifact("tstun/tstun"), "--port", "0", "--bind", "127.0.0.1");
        Assert.Equal(1, await server.WaitForExitAsync(Wait));
        var line = Assert.Single(server.Lines, l => l.Length > 0);
        Assert.Equal($"tstun: the open-file limit is {openFiles}; tstun needs at least 128 (raise it with ulimit -n, or LimitNOFILE= in the service unit)", line);
    }

    [SkippableFact(Timeout = 30_000)]
    public async Task A_port_in_use_is_one_readable_line()
    {
        using var holder = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        holder.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        holder.Listen();
        string port = ((IPEndPoint)holder.LocalEndPoint!).Port.ToString(CultureInfo.InvariantCulture);
        using var server = StartWith("", "--port", port, "--bind", "127.0.0.1");
        Assert.Equal(1, await server.WaitForExitAsync(Wait));
        var line = Assert.Single(server.Lines, l => l.Length > 0);
        Assert.EndsWith($" tstun: cannot listen on 127.0.0.1:{port}: Address already in use", line, StringComparison.Ordinal);
    }

    // "   at Type.Method(...)", as the runtime prints a stack.
    [GeneratedRegex(@"^\s+at \S+\(")]
    private static partial Regex StackFrame();

    // Resource keys look like net_notconnected, IO_FileNotFound or UnauthorizedAccess_IODenied_NoPathName.
    [GeneratedRegex(@"\b(net|IO|[A-Z][A-Za-z]+)_[A-Za-z]+")]
    private static partial Regex ResourceKey();
}
