using System.Globalization;
using System.Net;

namespace Punchhole.Load;

/// <summary>Parses the command line into <see cref="LoadOptions"/>, checking every bound.</summary>
internal static class LoadCommandLine
{
    public const string Usage = """
        usage: punchhole-load SCENARIO [options]
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
          -S, --sources N          spread clients over 127.0.0.1 .. 127.0.0.N (default 4)
              --timeout S          longest one pairing may take (default 10)
              --server-pid PID     report this process's RSS and CPU (from /proc)
              --out FILE           append the results to FILE: CSV if it ends in .csv, else Markdown
              --warmup N           pairings run first and not counted, for the JIT (default 200; hold: 0)
          -h, --help
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

    /// <summary>The options, or null with <paramref name="error"/> set (null error and null options: help).</summary>
    public static LoadOptions? Parse(string[] args, out string? error)
    {
        error = null;
        if (args.Length == 0 || args[0] is "-h" or "--help")
        {
            error = args.Length == 0 ? "no scenario given" : null;
            return null;
        }
        var options = new LoadOptions();
        try
        {
            options = options with
            {
                Scenario = args[0] switch
                {
                    "constant" => Scenario.Constant,
                    "hold" => Scenario.Hold,
                    "ramp" => Scenario.Ramp,
                    "churn" => Scenario.Churn,
                    _ => throw new FormatException($"unknown scenario '{args[0]}'"),
                },
            };
            for (int i = 1; i < args.Length; i++)
            {
                string name = args[i];
                if (name is "-h" or "--help")
                {
                    return null;
                }
                if (name == "--child")
                {
                    options = options with { HoldChild = true };
                    continue;
                }
                if (i + 1 >= args.Length)
                {
                    throw new FormatException($"{name} needs a value");
                }
                string value = args[++i];
                options = name switch
                {
                    "-a" or "--target" => options with { Target = ParseAddress(value) },
                    "-p" or "--port" => options with { Port = Int(name, value, 1, 65535) },
                    "-S" or "--sources" => options with { Sources = Int(name, value, 1, 254) },
                    "--timeout" => options with { Timeout = Seconds(name, value, 0.1, 600) },
                    "--server-pid" => options with { ServerPid = Int(name, value, 1, int.MaxValue) },
                    "--out" => options with { OutFile = value },
                    "--warmup" => options with { Warmup = Int(name, value, 0, 100_000) },
                    "-c" or "--concurrency" => options with { Concurrency = Int(name, value, 1, 9000) },
                    "-n" or "--pairs" => options with { Pairs = Int(name, value, 1, 100_000_000) },
                    "-d" or "--duration" => options with { Duration = Seconds(name, value, 0.1, 3600) },
                    "-H" or "--clients" => options with { Clients = Int(name, value, 1, 200_000) },
                    "-P" or "--processes" => options with { Processes = Int(name, value, 1, 64) },
                    "--settle-ms" => options with { Settle = TimeSpan.FromMilliseconds(Int(name, value, 0, 60_000)) },
                    "--start-rate" => options with { StartRate = Int(name, value, 1, 1_000_000) },
                    "--step-rate" => options with { StepRate = Int(name, value, 1, 1_000_000) },
                    "--max-rate" => options with { MaxRate = Int(name, value, 1, 1_000_000) },
                    "--step-seconds" => options with { StepDuration = Seconds(name, value, 0.1, 600) },
                    "--p99-ms" => options with { P99ThresholdMs = Number(name, value, 0.001, 600_000) },
                    "--max-in-flight" => options with { MaxInFlight = Int(name, value, 1, 9000) },
                    "--unpaired-share" => options with { UnpairedShare = Number(name, value, 0, 0.9) },
                    "--lonely-wait" => options with { LonelyWait = Seconds(name, value, 0.1, 600) },
                    "--max-lonely" => options with { MaxLonely = Int(name, value, 1, 10_000) },
                    _ => throw new FormatException($"unknown option '{name}'"),
                };
            }
            Validate(options);
            return options;
        }
        catch (FormatException e)
        {
            error = e.Message;
            return null;
        }
    }

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
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n >= min && n <= max
            ? n
            : throw new FormatException($"{name} wants a whole number from {min} to {max}, not '{value}'");

    private static double Number(string name, string value, double min, double max) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double x) && x >= min && x <= max
            ? x
            : throw new FormatException($"{name} wants a number from {min} to {max}, not '{value}'");

    private static TimeSpan Seconds(string name, string value, double min, double max) => TimeSpan.FromSeconds(Number(name, value, min, max));
}
