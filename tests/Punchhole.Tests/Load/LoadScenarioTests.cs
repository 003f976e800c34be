using System.Diagnostics;
using System.Net;
using Punchhole.Load;
using Punchhole.Load.Scenarios;
using Punchhole.Server;
using Punchhole.Tests.Support;

namespace Punchhole.Tests.Load;

/// <summary>
/// The load tool's scenarios, small and bounded, against a real server (or a wrong one) on loopback.
/// They run alone, after the parallel tests: bursts of load would otherwise skew the timing of others.
/// </summary>
[Collection(LoadCollection.Name)]
public class LoadScenarioTests
{
    private static LoadOptions Options(Scenario scenario, int port) => new()
    {
        Scenario = scenario,
        Port = port,
        Sources = 4,
        Timeout = TimeSpan.FromSeconds(5),
        Duration = TimeSpan.FromSeconds(20),
        ServerPid = Environment.ProcessId,
    };

    private static LoadRun Start(LoadOptions options, TextWriter? diagnostics = null) => new(
        options,
        LoadTarget.Create(options.Target, options.Port, options.Sources),
        ServerProbe.For(Environment.ProcessId),
        diagnostics ?? TextWriter.Null);

    private static string Extra(RunReport report, string name) => report.Extra.Single(e => e.Name == name).Value;

    [Fact(Timeout = 30_000)]
    public async Task A_constant_run_pairs_every_client_with_its_real_partner()
    {
        using var host = new ServerHost();
        var options = Options(Scenario.Constant, host.EndPoint().Port) with { Concurrency = 8, Pairs = 300 };
        using var run = Start(options);

        var report = await ConstantScenario.RunAsync(run);

        Assert.Equal(300, report.Tally.Ok);
        Assert.Equal("none", report.Tally.ErrorSummary());
        Assert.Equal(300, host.Counters.Pairs);
        Assert.True(report.PairsPerSecond > 0 && report.Tally.LatencyMs(99) > 0);
        Assert.NotNull(report.ServerAfter);
        Assert.StartsWith("result scenario=constant pairs=300 ok=300 errors=0 ", ReportWriter.ResultLine(report), StringComparison.Ordinal);
    }

    [Theory(Timeout = 30_000)]
    [InlineData("own address", "wrong_address")]
    [InlineData("garbage", "bad_reply")]
    [InlineData("too long", "bad_reply")]
    [InlineData("nothing", "no_reply")]
    public async Task Every_wrong_answer_is_caught_and_counted_by_kind(string answer, string kindName)
    {
        var kind = Enum.GetValues<ErrorKind>().Single(k => ErrorKinds.Name(k) == kindName);
        using var fake = new FakeRendezvous(client => answer switch
        {
            // The commonest bug: telling a client its own address instead of its partner's.
            "own address" => $"{client.Address.MapToIPv4()} {client.Port}",
            "garbage" => "hello world",
            "too long" => "127.0.0.1 " + new string('1', 60),
            _ => "",
        });
        var diagnostics = new StringWriter();
        using var run = Start(Options(Scenario.Constant, fake.Port) with { Concurrency = 4, Pairs = 20 }, diagnostics);

        var report = await ConstantScenario.RunAsync(run);

        Assert.Equal(0, report.Tally.Ok);
        Assert.Equal(20, report.Tally.ErrorsOf(kind));
        Assert.Equal(20, report.ViolationCount);
        Assert.Contains(ErrorKinds.Name(kind), diagnostics.ToString(), StringComparison.Ordinal);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_pairing_that_gets_no_answer_ends_as_a_timeout_at_its_deadline()
    {
        using var fake = new FakeRendezvous(_ => null);
        using var run = Start(Options(Scenario.Constant, fake.Port) with
        {
            Concurrency = 4,
            Pairs = 4,
            Timeout = TimeSpan.FromMilliseconds(500),
        });
        var clock = Stopwatch.StartNew();

        var report = await ConstantScenario.RunAsync(run);

        Assert.Equal(4, report.Tally.ErrorsOf(ErrorKind.Timeout));
        Assert.InRange(clock.Elapsed, TimeSpan.FromMilliseconds(450), TimeSpan.FromSeconds(5));
    }

    [Fact(Timeout = 30_000)]
    public async Task A_refused_connection_is_counted_as_refused()
    {
        // A port bound but not listening refuses connections, and stays ours while bound: a port
        // merely found free could be taken meanwhile by a server another test starts.
        using var bound = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        bound.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        int port = ((IPEndPoint)bound.LocalEndPoint!).Port;
        using var run = Start(Options(Scenario.Constant, port) with { Concurrency = 2, Pairs = 6 });

        var report = await ConstantScenario.RunAsync(run);

        Assert.Equal(6, report.Tally.ErrorsOf(ErrorKind.Refused));
    }

    [Fact(Timeout = 30_000)]
    public async Task Churn_unpaired_clients_are_closed_by_the_server_with_no_reply()
    {
        using var host = new ServerHost(new ServerOptions { WaitTimeout = TimeSpan.FromMilliseconds(500) });
        using var run = Start(Options(Scenario.Churn, host.EndPoint().Port) with
        {
            Concurrency = 4,
            Pairs = 200,
            UnpairedShare = 0.2,
            LonelyWait = TimeSpan.FromSeconds(5),
        });

        var report = await ChurnScenario.RunAsync(run);

        Assert.Equal(200, report.Tally.Ok);
        Assert.Equal(0, report.ViolationCount);
        long unpaired = long.Parse(Extra(report, "unpaired"), System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(unpaired, 40, 60);
        Assert.Equal(Extra(report, "unpaired"), Extra(report, "unpaired_closed_without_reply"));
        Assert.Equal(unpaired, host.Counters.TimedOut);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_hold_reads_the_servers_memory_while_every_client_waits_then_pairs_them_all()
    {
        using var host = new ServerHost();
        using var run = Start(Options(Scenario.Hold, host.EndPoint().Port) with
        {
            Clients = 200,
            Processes = 1,
            Settle = TimeSpan.FromMilliseconds(200),
        });

        var report = await HoldScenario.RunAsync(run);

        Assert.Equal("200", Extra(report, "waiting"));
        Assert.Equal(200, report.Tally.Ok);
        Assert.Equal(200, host.Counters.Pairs);
        Assert.True(long.TryParse(Extra(report, "rss_growth_bytes_per_waiting_client"), out _));
    }

    [Fact(Timeout = 60_000)]
    public async Task A_hold_split_over_child_processes_pairs_every_client()
    {
        using var host = new ServerHost();
        using var run = Start(Options(Scenario.Hold, host.EndPoint().Port) with
        {
            Clients = 301,
            Processes = 2,
            Settle = TimeSpan.FromMilliseconds(200),
        });

        var report = await HoldScenario.RunAsync(run);

        Assert.Equal("301", Extra(report, "waiting"));
        Assert.Equal(301, report.Tally.Ok);
        Assert.Equal(301, host.Counters.Pairs);
        Assert.True(report.ClientCpuSeconds > 0);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_ramp_runs_its_steps_and_reports_where_p99_passes_the_threshold()
    {
        using var host = new ServerHost();
        var options = Options(Scenario.Ramp, host.EndPoint().Port) with
        {
            StartRate = 100,
            StepRate = 100,
            MaxRate = 300,
            StepDuration = TimeSpan.FromMilliseconds(300),
            P99ThresholdMs = 60_000,
        };
        using (var run = Start(options))
        {
            var report = await RampScenario.RunAsync(run);
            Assert.Equal(["100", "200", "300"], report.Steps.Select(s => s.Settings));
            Assert.Equal(30 + 60 + 90, report.Tally.Ok);
            Assert.Equal("none", Extra(report, "knee_rate"));
        }

        // A threshold nothing can meet: the knee is the first step.
        using (var run = Start(options with { P99ThresholdMs = 0.001 }))
        {
            var report = await RampScenario.RunAsync(run);
            Assert.Single(report.Steps);
            Assert.Equal("100", Extra(report, "knee_rate"));
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task Results_are_appended_as_CSV_rows_or_Markdown_sections()
    {
        using var host = new ServerHost();
        using var run = Start(Options(Scenario.Constant, host.EndPoint().Port) with { Concurrency = 2, Pairs = 10 });
        var report = await ConstantScenario.RunAsync(run);
        string dir = Directory.CreateTempSubdirectory("punchhole-load-test").FullName;
        try
        {
            string csv = Path.Combine(dir, "r.csv"), md = Path.Combine(dir, "r.md");
            ReportWriter.Append(csv, report);
            ReportWriter.Append(csv, report);
            ReportWriter.Append(md, report);
            var rows = File.ReadAllLines(csv);
            Assert.Equal(3, rows.Length);
            Assert.StartsWith("time,scenario,", rows[0], StringComparison.Ordinal);
            Assert.Contains(",constant,", rows[1], StringComparison.Ordinal);
            Assert.Contains("| constant | 10 | 10 | 0 |", File.ReadAllText(md), StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
