using System.Diagnostics;
using Punchhole.Tests.Support;

namespace Punchhole.Tests.Server;

/// <summary>The tstun executable itself: command line, signals and exit codes.</summary>
public class ServerProcessTests
{
    private const int SIGINT = 2;
    private const int SIGUSR1 = 10;
    private const int SIGTERM = 15;

    [Theory(Timeout = 30_000)]
    [InlineData(SIGTERM)]
    [InlineData(SIGINT)]
    public async Task A_stop_signal_closes_waiting_clients_and_exits_0_within_a_second(int signal)
    {
        using var server = ServerProcess.Start(ServerProcess.BuiltExecutable, "--port", "0", "--bind", "127.0.0.1");
        var endPoint = await server.WaitUntilListeningAsync();
        using var waiting = await RendezvousClient.ConnectAsync(endPoint);
        await waiting.SendKeyAsync(RendezvousClient.NewKey());
        await Task.Delay(200);

        var clock = Stopwatch.StartNew();
        server.Signal(signal);
        Assert.Equal(0, await server.WaitForExitAsync(TimeSpan.FromSeconds(5)));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"took {clock.Elapsed} to exit");
        Assert.Equal("", await waiting.ReadToEndAsync(TimeSpan.FromSeconds(2)));
        Assert.Contains(server.Lines, l => l.Contains("stopped;", StringComparison.Ordinal));
    }

    [Fact(Timeout = 30_000)]
    public async Task SIGUSR1_logs_the_counters_and_the_server_keeps_serving()
    {
        using var server = ServerProcess.Start(ServerProcess.BuiltExecutable, "--port", "0", "--bind", "127.0.0.1");
        var endPoint = await server.WaitUntilListeningAsync();
        var key = RendezvousClient.NewKey();
        using (var a = await RendezvousClient.ConnectAsync(endPoint))
        using (var b = await RendezvousClient.ConnectAsync(endPoint))
        {
            await a.SendKeyAsync(key);
            await b.SendKeyAsync(key);
            Assert.NotEqual("", await a.ReadToEndAsync());
        }

        server.Signal(SIGUSR1);
        string stats = await server.WaitForLineAsync("stats ");
        Assert.Contains("paired=1 ", stats, StringComparison.Ordinal);
        Assert.Null(await server.WaitForExitAsync(TimeSpan.FromMilliseconds(300)));
        server.Signal(SIGTERM);
        Assert.Equal(0, await server.WaitForExitAsync(TimeSpan.FromSeconds(5)));
    }

    [Theory(Timeout = 30_000)]
    [InlineData("--port", "70000")]
    [InlineData("--timeout", "-1")]
    [InlineData("--timeout", "soon")]
    [InlineData("--bind", "not-an-address")]
    [InlineData("--max-waiting")]
    [InlineData("--frobnicate")]
    [InlineData("extra")]
    [InlineData("--redis", "")]
    [InlineData("--redis", "localhost:6379,frobnicate=1")]
    public async Task Bad_options_get_one_line_and_exit_code_2(params string[] args)
    {
        using var server = ServerProcess.Start(ServerProcess.BuiltExecutable, args);
        Assert.Equal(2, await server.WaitForExitAsync(TimeSpan.FromSeconds(10)));
        var lines = server.Lines.Where(l => l.Length > 0).ToArray();
        Assert.Single(lines);
        Assert.StartsWith("tstun: ", lines[0], StringComparison.Ordinal);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_port_in_use_is_a_clear_error_and_exit_code_1()
    {
        using var first = ServerProcess.Start(ServerProcess.BuiltExecutable, "--port", "0", "--bind", "127.0.0.1");
        var endPoint = await first.WaitUntilListeningAsync();
        using var second = ServerProcess.Start(ServerProcess.BuiltExecutable, "--port", endPoint.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1");
        Assert.Equal(1, await second.WaitForExitAsync(TimeSpan.FromSeconds(10)));
        Assert.Contains(second.Lines, l => l.Contains("cannot listen on", StringComparison.Ordinal));
    }
}
