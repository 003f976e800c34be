using System.Net;
using Punchhole.Protocol.CommandLine;

namespace Punchhole.Server;

/// <summary>Parses tstun's command line. Errors are one line for the user, never an exception.</summary>
internal static class ServerCommandLine
{
    public const string Usage = """
        Usage: tstun [options]
        T-STUN rendezvous server: pairs the two clients that send the same 32-byte key
        and tells each the other's observed "ADDR PORT".

          -p, --port N             TCP port (default 3477; 0 picks a free one and logs it)
          -b, --bind ADDR          listen on ADDR only (default: every address, IPv6 and IPv4)
          -t, --timeout S          longest a client waits for its partner, seconds (default 30)
          -k, --key-timeout S      longest a client may take to send its key, seconds (default 10)
              --max-waiting N      most unpaired clients at once (default 50000)
              --max-connections N  most open connections (default and upper bound: the open-file
                                   limit less the descriptors in use at start, less 80)
              --max-per-ip N       most open connections from one address (default 0: no limit)
              --defer-accept S     let the kernel hold a connection until its first bytes
                                   arrive, up to S seconds; 0 turns it off (default 1)
              --io-threads N       socket engine threads (default 1)
              --stats-interval S   log the counters every S seconds; 0 for never (default 60)
              --redis CONFIG       share waiting clients with other tstun instances through
                                   Redis (a StackExchange.Redis configuration, e.g. host:6379)
          -v, --verbose            log every connection (debugging only)
          -h, --help               show this help
              --version            show the version

        Signals: SIGTERM/SIGINT stop the server; SIGUSR1 logs the counters now.
        """;

    private static readonly OptionReader Reader = new(
        shortFlags: "hv",
        shortWithValue: "pbtk",
        longFlags: ["help", "version", "verbose"],
        longWithValue: ["port", "bind", "timeout", "key-timeout", "stats-interval", "max-waiting",
            "max-connections", "defer-accept", "io-threads", "max-per-ip", "redis"]);

    public static ParsedCommandLine<ServerOptions> Parse(IReadOnlyList<string> args)
    {
        if (!Reader.TryRead(args, out var items, out string? error))
        {
            return ParsedCommandLine<ServerOptions>.Fail(error!);
        }
        var options = new ServerOptions();
        foreach (var item in items)
        {
            if (item.IsPositional)
            {
                return ParsedCommandLine<ServerOptions>.Fail($"unexpected argument '{OptionValue.Printable(item.Value)}'");
            }
            string name = item.Name!;
            string value = item.Value ?? "";
            int number = 0;
            TimeSpan seconds = default;
            bool ok = true;
            switch (name)
            {
                case "-h" or "--help":
                    return ParsedCommandLine<ServerOptions>.ShowHelp();
                case "--version":
                    return ParsedCommandLine<ServerOptions>.ShowVersion();
                case "-v" or "--verbose":
                    options = options with { Verbose = true };
                    break;
                case "-p" or "--port":
                    ok = OptionValue.TryPort(name, value, allowZero: true, out number, out error);
                    options = options with { Port = number };
                    break;
                case "-b" or "--bind":
                    ok = IPAddress.TryParse(value.Trim('[', ']'), out var bind);
                    error = ok ? null : $"{name}: '{OptionValue.Printable(value)}' is not an IP address";
                    options = options with { Bind = bind };
                    break;
                case "-t" or "--timeout":
                    ok = OptionValue.TrySeconds(name, value, allowZero: false, out seconds, out error);
                    options = options with { WaitTimeout = seconds };
                    break;
                case "-k" or "--key-timeout":
                    ok = OptionValue.TrySeconds(name, value, allowZero: false, out seconds, out error);
                    options = options with { KeyTimeout = seconds };
                    break;
                case "--stats-interval":
                    ok = OptionValue.TrySeconds(name, value, allowZero: true, out seconds, out error);
                    options = options with { StatsInterval = seconds };
                    break;
                case "--defer-accept":
                    ok = OptionValue.TrySeconds(name, value, allowZero: true, out seconds, out error);
                    options = options with { DeferAccept = seconds };
                    break;
                case "--max-waiting":
                    ok = OptionValue.TryInteger(name, value, 1, 1 << 24, out number, out error);
                    options = options with { MaxWaiting = number };
                    break;
                case "--max-connections":
                    ok = OptionValue.TryInteger(name, value, 1, int.MaxValue, out number, out error);
                    options = options with { MaxConnections = number };
                    break;
                case "--io-threads":
                    ok = OptionValue.TryInteger(name, value, 1, 256, out number, out error);
                    options = options with { IoThreads = number };
                    break;
                case "--max-per-ip":
                    ok = OptionValue.TryInteger(name, value, 0, int.MaxValue, out number, out error);
                    options = options with { MaxPerIp = number };
                    break;
                case "--redis":
                    ok = Cluster.ClusterPairing.ParseConfiguration(value, out error) is not null;
                    error = ok ? null : $"{name}: '{OptionValue.Printable(value)}' is not a Redis configuration: {error}";
                    options = options with { Redis = value };
                    break;
                default:
                    ok = false;
                    error = $"unhandled option '{name}'";
                    break;
            }
            if (!ok)
            {
                return ParsedCommandLine<ServerOptions>.Fail(error!);
            }
        }
        return ParsedCommandLine<ServerOptions>.Run(options);
    }
}
