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
          -h, --help               show this help
              --version            show the version

        """;

    private static readonly OptionReader Reader = new(
        shortFlags: "h",
        shortWithValue: "apSbrn",
        longFlags: ["help", "version"],
        longWithValue: ["target", "port", "sources", "mib", "rounds", "sessions", "server-pid", "settle-ms"]);

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
            bool ok = true;
            int number = 0;
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
                case "-p" or "--port":
                    ok = OptionValue.TryPort(name, value, allowZero: false, out number, out error);
                    options = options with { Port = number };
                    break;
                case "-S" or "--sources":
                    ok = OptionValue.TryInteger(name, value, 1, 254, out number, out error);
                    options = options with { Sources = number };
                    break;
                case "-b" or "--mib":
                    ok = OptionValue.TryInteger(name, value, 1, 1 << 20, out number, out error);
                    options = options with { Bytes = (long)number << 20 };
                    break;
                case "-r" or "--rounds":
                    ok = OptionValue.TryInteger(name, value, 1, 1000, out number, out error);
                    options = options with { Rounds = number };
                    break;
                case "-n" or "--sessions":
                    ok = OptionValue.TryInteger(name, value, 1, 5000, out number, out error);
                    options = options with { Sessions = number };
                    break;
                case "--server-pid":
                    ok = OptionValue.TryInteger(name, value, 1, int.MaxValue, out number, out error);
                    options = options with { ServerPid = number };
                    break;
                case "--settle-ms":
                    ok = OptionValue.TryInteger(name, value, 0, 600_000, out number, out error);
                    options = options with { SettleMilliseconds = number };
                    break;
                default:
                    ok = false;
                    error = $"unhandled option '{name}'";
                    break;
            }
            if (!ok)
            {
                return ParsedCommandLine<RelayBenchOptions>.Fail(error!);
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
