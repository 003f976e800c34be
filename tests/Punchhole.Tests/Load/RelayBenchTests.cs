using Punchhole.RelayBench;
using Punchhole.Server;
using Punchhole.Tests.Support;

namespace Punchhole.Tests.Load;

/// <summary>
/// punchhole-relaybench, the tool behind scripts/relay-throughput.sh and scripts/relay-idle-rss.sh,
/// against a real server on loopback: each mode completes through the relay and reports, and a
/// server without the relay is told in one line.
/// </summary>
public class RelayBenchTests
{
    private static ServerHost RelayHost() =>
        new(new ServerOptions { Relay = new RelayOptions { Enabled = true, BytesPerSecond = 0, MaxPerIp = 1000 } });

    private static RelayBenchOptions Options(ServerHost host, BenchMode mode) => new()
    {
        Mode = mode,
        Port = host.EndPoint().Port,
        Bytes = 8 << 20,
        Rounds = 1,
        Sessions = 20,
        ServerPid = Environment.ProcessId,
        SettleMilliseconds = 0,
    };

    [Fact(Timeout = 60_000)]
    public async Task Throughput_sends_every_byte_through_the_relay_and_directly_and_reports_the_ratio()
    {
        using var host = RelayHost();
        var output = new StringWriter();
        Assert.Equal(0, await ThroughputRun.RunAsync(Options(host, BenchMode.Throughput), output));
        string result = Assert.Single(output.ToString().Split('\n'), line => line.StartsWith("result ", StringComparison.Ordinal));
        Assert.Matches(@"^result mode=throughput mib=8 rounds=1 direct_mib_s=[0-9.]+ relayed_mib_s=[0-9.]+ ratio=[0-9.]+ direct_client_cpu_s_per_gib=[0-9.]+ relayed_client_cpu_s_per_gib=[0-9.]+$", result);
        Assert.Equal(8L << 20, host.Counters.RelayBytes);
        Assert.Equal(1, host.Counters.RelayJoined);
    }

    [Fact(Timeout = 60_000)]
    public async Task Idle_holds_every_session_joined_at_once_then_closes_them()
    {
        using var host = RelayHost();
        var output = new StringWriter();
        // The sessions stay open for the settle time, long enough to be seen.
        var run = IdleRun.RunAsync(Options(host, BenchMode.Idle) with { SettleMilliseconds = 2000 }, output);
        // The warm-up sessions, then all 20 at once, joined through the relay.
        Assert.True(await ServerHost.EventuallyAsync(() => host.Counters.RelayActive == 20, TimeSpan.FromSeconds(30)), $"active {host.Counters.RelayActive}");
        Assert.Equal(0, await run);
        Assert.Matches(@"result mode=idle sessions=20 rss_before_kb=[0-9]+ rss_after_kb=[0-9]+ rss_bytes_per_session=-?[0-9]+ fds_per_session=", output.ToString());
        Assert.True(await ServerHost.EventuallyAsync(() => host.Counters.RelayActive == 0), "the sessions were not closed");
        Assert.Equal(84, host.Counters.RelayJoined);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_server_without_the_relay_is_named_as_the_cause()
    {
        using var host = new ServerHost();
        var error = await Assert.ThrowsAsync<BenchException>(() => ThroughputRun.RunAsync(Options(host, BenchMode.Throughput), new StringWriter()));
        Assert.Equal("the server does not relay: start it with --relay", error.Message);
    }

    [Theory]
    [InlineData(new string[0], "no mode: throughput or idle")]
    [InlineData(new[] { "idle" }, "idle needs --server-pid")]
    [InlineData(new[] { "fast" }, "unknown mode 'fast' (throughput or idle)")]
    [InlineData(new[] { "throughput", "-a", "198.51.100.1" }, "-a takes a loopback address, not '198.51.100.1'")]
    public void Bad_command_lines_get_one_line(string[] args, string expected)
    {
        Assert.Equal(expected, RelayBenchCommandLine.Parse(args).Error);
    }
}
