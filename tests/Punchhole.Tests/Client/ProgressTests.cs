using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using Punchhole.Tests.Support;

namespace Punchhole.Tests.Client;

/// <summary>
/// Progress of a transfer: a live line only when stderr is a terminal (a pty from script(1) here)
/// and -q is not given; the final line with bytes, duration and average rate always.
/// </summary>
public partial class ProgressTests
{
    private const int FileSize = 24 << 20;
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    [Fact(Timeout = 120_000)]
    public async Task Without_a_terminal_only_the_final_line_is_written()
    {
        using var run = new ClientWithPlainPeer(["-s", "k"]);
        using var connection = await run.AcceptAsync();
        var feeding = ExitStatusTests.FeedAsync(run.Client.Input, 4 << 20);
        var (count, _) = await StreamCheck.ReadToEndAsync(connection, Wait);
        await feeding;
        connection.Shutdown(SocketShutdown.Send);
        Assert.Equal(0, await run.Client.WaitForExitAsync(Wait));

        Assert.Equal(4 << 20, count);
        Assert.DoesNotContain(run.Client.Lines, l => l.Contains('\r', StringComparison.Ordinal) || LivePercent().IsMatch(l));
        Assert.Matches(FinalLine(), Assert.Single(run.Client.Lines, l => l.Contains("done:", StringComparison.Ordinal)));
        Assert.Contains($"sent {4 << 20} bytes", run.Client.Lines.Last(), StringComparison.Ordinal);
    }

    [Theory(Timeout = 120_000)]
    [InlineData(false)]
    [InlineData(true)]
    public async Task On_a_terminal_a_live_line_shows_percentage_and_time_left_unless_quiet(bool quiet)
    {
        string file = Path.Combine(Path.GetTempPath(), $"punchhole-progress-{Environment.ProcessId}-{quiet}");
        await File.WriteAllBytesAsync(file, StreamCheck.RandomBytes(FileSize));
        try
        {
            var peer = new PlainPeer();
            using var rendezvous = new FakeRendezvous(peer.Reply);
            string command = $"'{ClientProgram.Executable}' {string.Join(' ', ClientProgram.Server(rendezvous.Port))} --plain -s {(quiet ? "-q " : "")}k < '{file}'";
            using var terminal = ChildProcess.Start("script", "-qfec", command, "/dev/null");
            var screen = new MemoryStream();
            var reading = terminal.Output.CopyToAsync(screen);
            using (var connection = await peer.AcceptAsync())
            {
                Assert.Equal(FileSize, await ReadSlowlyAsync(connection));
                connection.Shutdown(SocketShutdown.Send);
                Assert.Equal(0, await terminal.WaitForExitAsync(Wait));
            }
            await reading.WaitAsync(Wait);
            peer.Dispose();

            string text = Encoding.UTF8.GetString(screen.ToArray());
            Assert.Equal(!quiet, LivePercent().IsMatch(text));
            Assert.Matches(FinalLine(), text);
        }
        finally
        {
            File.Delete(file);
        }
    }

    /// <summary>Reads at about 10 MiB/s, so the transfer lasts long enough for the live line to be drawn.</summary>
    private static async Task<long> ReadSlowlyAsync(Socket connection)
    {
        using var timeout = new CancellationTokenSource(Wait);
        var buffer = new byte[256 * 1024];
        long total = 0;
        int n;
        while ((n = await connection.ReceiveAsync(buffer, SocketFlags.None, timeout.Token)) > 0)
        {
            total += n;
            await Task.Delay(25, timeout.Token);
        }
        return total;
    }

    [GeneratedRegex(@"\(\d+%\)")]
    private static partial Regex LivePercent();

    [GeneratedRegex(@"done: sent \d+ bytes(?: \([^)]*\))?, received \d+ bytes(?: \([^)]*\))? in \d+\.\d s \([\d.]+ [KMG]?i?B/s\)")]
    private static partial Regex FinalLine();
}
