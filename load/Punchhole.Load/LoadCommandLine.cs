using System.Globalization;
using System.Net;
using Punchhole.Protocol.CommandLine;

namespace Punchhole.Load;

/// <summary>Parses the command line into <see cref="LoadOptions"/>, checking every bound.</summary>
internal static class LoadCommandLine
{
    public const string Usage = """
        Usage: punchhole-load SCENARIO [options]
        A T-STUN load generator for a server on loopback. Every reply is checked to name the
        partner's real address. Prints a report, and a last line "result key=value ...".

        scenarios:
          constant   C pairings in flight, until N pairings or T seconds
          hold       H clients wait at once, then their partners arrive; server RSS per waiting client
          ramp       pairings started at a rising rate, step by step, until p99 passes a threshold
          churn      honest pairings mixed with unpaired keys that the server must time out

        options:
          -a, --target ADDR        the server, loopback only: 127.0.0.0/8 or ::1 (default 127.0.0.1)
          -p, --port N             the server's port (default 3477)
              --partner-port N     send the second client of each pairing to this port instead
                                   (another tstun sharing the first's table with --redis)
          -S, --sources N          spread clients over 127.0.0.1 .. 127.0.0.N (default 4)
              --timeout S          longest one pairing may take (default 10)
              --server-pid PID     report this process's RSS and CPU (from /proc)
              --out FILE           append the results to FILE: CSV if it ends in .csv, else Markdown
              --warmup N           pairings run first and not counted, for the JIT (default 200; hold: 0)
          -h, --help               show this help
              --version            show the version
        constant, churn:
          -c, --concurrency C      pairings in flight (default 64)
          -n, --pairs N            stop after N pairings (default 20000)
          -d, --duration S         or after S seconds (default 60)
        hold:
          -H, --clients H          clients waiting at once (default 1000)
          -P, --processes P        split them over P processes (default: one per 9000 clients)
              --settle-ms MS       pause after the last key, before the RSS is read (default 1000)
        ramp:
              --start-rate R       pairings started per second in the first step (default 1000)
              --step-rate R        added at each step (default 1000)
              --max-rate R         the rate of the last step (default 20000)
              --step-seconds S     length of each step (default 2)
              --p99-ms MS          the p99 threshold (default 10)
              --max-in-flight N    open pairings at most; more is counted as overload (default 4000)
        churn:
              --unpaired-share F   share of keys sent by a client with no partner (default 0.2)
              --lonely-wait S      how long such a client waits to be closed (default 35;
                                   more than the server's --timeout)
              --max-lonely N       such clients open at once at most (default 2000)

        """;

    private static readonly OptionReader Reader = new(
        shortFlags: "h",
        shortWithValue: "apScndHP",
        longFlags: ["help", "version", "child"],
        longWithValue: ["target", "port", "partner-port", "sources", "timeout", "server-pid", "out", "warmup", "concurrency", "pairs",
            "duration", "clients", "processes", "settle-ms", "start-rate", "step-rate", "max-rate", "step-seconds",
            "p99-ms", "max-in-flight", "unpaired-share", "lonely-wait", "max-lonely"]);

    /// <summary>The options, help, or a one-line error (the shared getopt-style reader splits the words).</summary>
    public static ParsedCommandLine<LoadOptions> Parse(IReadOnlyList<string> args)
    {
        if (!Reader.TryRead(args, out var items, out string? error))
        {
            return ParsedCommandLine<LoadOptions>.Fail(error!);
        }
        LoadOptions? options = null;
        try
        {
            foreach (var item in items)
            {
                if (item.IsPositional)
                {
                    options = options is null
                        ? new LoadOptions { Scenario = ParseScenario(item.Value!) }
                        : throw new FormatException($"unexpected argument '{item.Value}'");
                    continue;
                }
                string name = item.Name!;
                string value = item.Value ?? "";
                switch (name)
                {
                    case "-h" or "--help":
                        return ParsedCommandLine<LoadOptions>.ShowHelp();
                    case "--version":
                        return ParsedCommandLine<LoadOptions>.ShowVersion();
                }
                var o = options ?? throw new FormatException($"name the scenario before {name}");
                options = name switch
                {
                    "--child" => o with { HoldChild = true },
                    "-a" or "--target" => o with { Target = ParseAddress(value) },
                    "-p" or "--port" => o with { Port = Int(name, value, 1, 65535) },
                    "--partner-port" => o with { PartnerPort = Int(name, value, 1, 65535) },
                    "-S" or "--sources" => o with { Sources = Int(name, value, 1, 254) },
                    "--timeout" => o with { Timeout = Seconds(name, value, 0.1, 600) },
                    "--server-pid" => o with { ServerPid = Int(name, value, 1, int.MaxValue) },
                    "--out" => o with { OutFile = value },
                    "--warmup" => o with { Warmup = Int(name, value, 0, 100_000) },
                    "-c" or "--concurrency" => o with { Concurrency = Int(name, value, 1, 9000) },
                    "-n" or "--pairs" => o with { Pairs = Int(name, value, 1, 100_000_000) },
                    "-d" or "--duration" => o with { Duration = Seconds(name, value, 0.1, 3600) },
                    "-H" or "--clients" => o with { Clients = Int(name, value, 1, 200_000) },
                    "-P" or "--processes" => o with { Processes = Int(name, value, 1, 64) },
                    "--settle-ms" => o with { Settle = TimeSpan.FromMilliseconds(Int(name, value, 0, 60_000)) },
                    "--start-rate" => o with { StartRate = Int(name, value, 1, 1_000_000) },
                    "--step-rate" => o with { StepRate = Int(name, value, 1, 1_000_000) },
                    "--max-rate" => o with { MaxRate = Int(name, value, 1, 1_000_000) },
                    "--step-seconds" => o with { StepDuration = Seconds(name, value, 0.1, 600) },
                    "--p99-ms" => o with { P99ThresholdMs = Number(name, value, 0.001, 600_000) },
                    "--max-in-flight" => o with { MaxInFlight = Int(name, value, 1, 9000) },
                    "--unpaired-share" => o with { UnpairedShare = Number(name, value, 0, 0.9) },
                    "--lonely-wait" => o with { LonelyWait = Seconds(name, value, 0.1, 600) },
                    "--max-lonely" => o with { MaxLonely = Int(name, value, 1, 10_000) },
                    _ => throw new FormatException($"unhandled option '{name}'"),
                };
            }
            if (options is null)
            {
                throw new FormatException("no scenario given: constant, hold, ramp or churn");
            }
            Validate(options);
            return ParsedCommandLine<LoadOptions>.Run(options);
        }
        catch (FormatException e)
        {
            return ParsedCommandLine<LoadOptions>.Fail(e.Message);
        }
    }

    private static Scenario ParseScenario(string name) => name switch
    {
        "constant" => Scenario.Constant,
        "hold" => Scenario.Hold,
        "ramp" => Scenario.Ramp,
        "churn" => Scenario.Churn,
        _ => throw new FormatException($"unknown scenario '{name}': constant, hold, ramp or churn"),
    };

    private static void Validate(LoadOptions options)
    {
        if (options.Scenario == Scenario.Ramp && options.RampSteps > 1000)
        {
            throw new FormatException("the ramp has more than 1000 steps: raise --step-rate");
        }
        if (options.Scenario == Scenario.Ramp && options.StartRate > options.MaxRate)
        {
            throw new FormatException("--start-rate is above --max-rate");
        }
        if (options.Scenario == Scenario.Hold && options.HoldProcesses > options.Clients)
        {
            throw new FormatException("more --processes than --clients");
        }
        if (options.Scenario == Scenario.Hold && !options.HoldChild
            && (options.Clients + options.HoldProcesses - 1) / options.HoldProcesses > LoadOptions.ClientsPerProcess * 11 / 10)
        {
            throw new FormatException($"more than {LoadOptions.ClientsPerProcess} clients per process: raise --processes");
        }
    }

    private static IPAddress ParseAddress(string value)
    {
        if (!IPAddress.TryParse(value, out var address))
        {
            throw new FormatException($"--target wants an IP address, not '{value}'");
        }
        if (!IPAddress.IsLoopback(address))
        {
            throw new FormatException($"--target {value} is not on loopback: only 127.0.0.0/8 and ::1 may be loaded");
        }
        return address;
    }

    private static int Int(string name, string value, int min, int max) =>
        OptionValue.TryInteger(name, value, min, max, out int n, out string? error) ? n : throw new FormatException(error);

    private static double Number(string name, string value, double min, double max) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double x) && x >= min && x <= max
            ? x
            : throw new FormatException($"{name} wants a number from {min} to {max}, not '{value}'");

    private static TimeSpan Seconds(string name, string value, double min, double max) =>
        OptionValue.TrySeconds(name, value, allowZero: false, out var span, out string? error) && span.TotalSeconds >= min && span.TotalSeconds <= max
            ? span
            : throw new FormatException(error ?? $"{name}: '{value}' is not a number of seconds from {min} to {max}");
}
