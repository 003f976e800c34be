using System.Net;
using Punchhole.Protocol.CommandLine;

namespace Punchhole.RelayBench;

internal enum BenchMode
{
    Throughput,
    Idle,
}

internal sealed record RelayBenchOptions
{
    public BenchMode Mode { get; init; }
    public IPAddress Target { get; init; } = IPAddress.Loopback;
    public int Port { get; init; } = 3477;
    public int Sources { get; init; } = 4;
    public long Bytes { get; init; } = 1L << 30;
    public int Rounds { get; init; } = 3;
    public int Sessions { get; init; } = 1000;
    public int? ServerPid { get; init; }
    public int SettleMilliseconds { get; init; } = 1000;

    /// <summary>Idle: bytes of one direct and one relayed transfer made while the idle sessions are held (0: none).</summary>
    public long BusyBytes { get; init; }
}

/// <summary>Parses the command line into <see cref="RelayBenchOptions"/>, checking every bound.</summary>
internal static class RelayBenchCommandLine
{
    public const string Usage = """
        Usage: punchhole-relaybench MODE [options]
        Measures tstun's relay (tstun --relay) on loopback. Prints a report, and a last line
        "result key=value ...".

        modes:
          throughput  BYTES one way through a relayed session, and through a direct loopback
                      connection, alternately, ROUNDS times each: the medians and their ratio
          idle        N relayed sessions joined and left idle; the server's RSS per session

        options:
          -a, --target ADDR        the server, loopback only: 127.0.0.0/8 or ::1 (default 127.0.0.1)
          -p, --port N             the server's port (default 3477)
          -S, --sources N          spread clients over 127.0.0.1 .. 127.0.0.N (default 4)
          -b, --mib N              throughput: MiB sent each round (default 1024)
          -r, --rounds N           throughput: rounds of each path (default 3)
          -n, --sessions N         idle: relayed sessions held open (default 1000)
              --server-pid PID     idle: the server's process, whose RSS is read (required)
              --settle-ms MS       idle: pause after the last session joined (default 1000)
              --busy-mib N         idle: then, with the sessions still held, N MiB through one more
                                   relayed session and directly: their rates and ratio (default 0: none)
          -h, --help               show this help
              --version            show the version

        """;

    private static readonly OptionReader Reader = new(
        shortFlags: "h",
        shortWithValue: "apSbrn",
        longFlags: ["help", "version"],
        longWithValue: ["target", "port", "sources", "mib", "rounds", "sessions", "server-pid", "settle-ms", "busy-mib"]);

    private static readonly OptionTable<RelayBenchOptions> Numbers = new OptionTable<RelayBenchOptions>()
        .Port("-p --port", allowZero: false, static (o, n) => o with { Port = n })
        .Integer("-S --sources", 1, 254, static (o, n) => o with { Sources = n })
        .Integer("-b --mib", 1, 1 << 20, static (o, n) => o with { Bytes = (long)n << 20 })
        .Integer("-r --rounds", 1, 1000, static (o, n) => o with { Rounds = n })
        .Integer("-n --sessions", 1, 5000, static (o, n) => o with { Sessions = n })
        .Integer("--server-pid", 1, int.MaxValue, static (o, n) => o with { ServerPid = n })
        .Integer("--settle-ms", 0, 600_000, static (o, n) => o with { SettleMilliseconds = n })
        .Integer("--busy-mib", 0, 1 << 20, static (o, n) => o with { BusyBytes = (long)n << 20 });

    public static ParsedCommandLine<RelayBenchOptions> Parse(IReadOnlyList<string> args)
    {
        if (!Reader.TryRead(args, out var items, out string? error))
        {
            return ParsedCommandLine<RelayBenchOptions>.Fail(error!);
        }
        var options = new RelayBenchOptions();
        BenchMode? mode = null;
        foreach (var item in items)
        {
            if (item.IsPositional)
            {
                if (mode is not null)
                {
                    return ParsedCommandLine<RelayBenchOptions>.Fail($"unexpected argument '{OptionValue.Printable(item.Value)}'");
                }
                mode = item.Value switch
                {
                    "throughput" => BenchMode.Throughput,
                    "idle" => BenchMode.Idle,
                    _ => null,
                };
                if (mode is null)
                {
                    return ParsedCommandLine<RelayBenchOptions>.Fail($"unknown mode '{OptionValue.Printable(item.Value)}' (throughput or idle)");
                }
                continue;
            }
            string name = item.Name!, value = item.Value ?? "";
            if (Numbers.TryApply(name, value, ref options, out error) is { } read)
            {
                if (!read)
                {
                    return ParsedCommandLine<RelayBenchOptions>.Fail(error!);
                }
                continue;
            }
            switch (name)
            {
                case "-h" or "--help":
                    return ParsedCommandLine<RelayBenchOptions>.ShowHelp();
                case "--version":
                    return ParsedCommandLine<RelayBenchOptions>.ShowVersion();
                case "-a" or "--target":
                    if (!IPAddress.TryParse(value, out var target) || !IPAddress.IsLoopback(target))
                    {
                        return ParsedCommandLine<RelayBenchOptions>.Fail($"{name} takes a loopback address, not '{OptionValue.Printable(value)}'");
                    }
                    options = options with { Target = target };
                    break;
                default:
                    return ParsedCommandLine<RelayBenchOptions>.Fail($"unhandled option '{name}'");
            }
        }
        if (mode is null)
        {
            return ParsedCommandLine<RelayBenchOptions>.Fail("no mode: throughput or idle");
        }
        if (mode == BenchMode.Idle && options.ServerPid is null)
        {
            return ParsedCommandLine<RelayBenchOptions>.Fail("idle needs --server-pid");
        }
        return ParsedCommandLine<RelayBenchOptions>.Run(options with { Mode = mode.Value });
    }
}
