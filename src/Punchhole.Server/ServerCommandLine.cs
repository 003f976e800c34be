using System.Net;
using System.Net.Sockets;
using Punchhole.Protocol;
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
              --max-per-ip N       most open connections from one source: an IPv4 address or
                                   an IPv6 /64 (default 0: no limit)
              --max-waiting-per-source N
                                   most clients one source (an IPv4 address or an IPv6 /64)
                                   may have waiting (default: 1/16 of --max-waiting, at least
                                   100; 0: no limit)
              --proxy-protocol     every connection starts with a PROXY protocol header (v1 or
                                   v2, as HAProxy's send-proxy and send-proxy-v2 send) from a
                                   trusted proxy; replies and limits use the address it carries
              --trusted-proxy CIDR
                                   a proxy allowed to send PROXY headers (repeatable;
                                   required with --proxy-protocol); any other source is closed
              --metrics [ADDR:]PORT
                                   serve Prometheus metrics at http://ADDR:PORT/metrics
                                   (ADDR defaults to 127.0.0.1; IPv6 as [ADDR]:PORT; off by default)
              --defer-accept S     let the kernel hold a connection until its first bytes
                                   arrive, up to S seconds; 0 turns it off (default 1)
              --io-threads N       socket engine threads (default 1)
              --stats-interval S   log the counters every S seconds; 0 for never (default 60)
              --relay              relay T-STUN/2 secure clients that cannot connect directly
                                   (off by default; the relay only ever carries ciphertext)
              --relay-max N        relayed sessions at once (default 1000)
              --relay-max-per-ip N relay connections open from one address (default 16)
              --relay-max-mib N    MiB one session may carry, both ways together (default 2048)
              --relay-max-time S   longest a relayed session may last, seconds (default 3600)
              --relay-mbit N       total relay bandwidth in Mbit/s; 0 for no ceiling (default 100)
              --relay-wait S       longest a relay connection waits for its partner (default 15)
              --relay-address ADDR:PORT
                                   where clients reach this instance's relay, when not at the
                                   address they reach the server at: behind a balancer, or
                                   with --redis (IPv6 as [ADDR]:PORT; see docs/SCALING.md)
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
        longFlags: ["help", "version", "verbose", "proxy-protocol", "relay"],
        longWithValue: ["port", "bind", "timeout", "key-timeout", "stats-interval", "max-waiting",
            "max-connections", "defer-accept", "io-threads", "max-per-ip", "max-waiting-per-source",
            "trusted-proxy", "metrics", "relay-max", "relay-max-per-ip", "relay-max-mib", "relay-max-time",
            "relay-mbit", "relay-wait", "relay-address", "redis"]);

    private static readonly OptionTable<ServerOptions> Numbers = new OptionTable<ServerOptions>()
        .Port("-p --port", allowZero: true, static (o, n) => o with { Port = n })
        .Seconds("-t --timeout", allowZero: false, static (o, s) => o with { WaitTimeout = s })
        .Seconds("-k --key-timeout", allowZero: false, static (o, s) => o with { KeyTimeout = s })
        .Seconds("--stats-interval", allowZero: true, static (o, s) => o with { StatsInterval = s })
        .Seconds("--defer-accept", allowZero: true, static (o, s) => o with { DeferAccept = s })
        .Integer("--max-waiting", 1, 1 << 24, static (o, n) => o with { MaxWaiting = n })
        .Integer("--max-connections", 1, int.MaxValue, static (o, n) => o with { MaxConnections = n })
        .Integer("--io-threads", 1, 256, static (o, n) => o with { IoThreads = n })
        .Integer("--max-per-ip", 0, int.MaxValue, static (o, n) => o with { MaxPerIp = n })
        .Integer("--max-waiting-per-source", 0, 1 << 24, static (o, n) => o with { MaxWaitingPerSource = n })
        .Integer("--relay-max", 1, 1_000_000, static (o, n) => o with { Relay = o.Relay with { MaxSessions = n } })
        .Integer("--relay-max-per-ip", 1, 1_000_000, static (o, n) => o with { Relay = o.Relay with { MaxPerIp = n } })
        .Integer("--relay-max-mib", 1, 1 << 30, static (o, n) => o with { Relay = o.Relay with { MaxBytes = (long)n << 20 } })
        .Seconds("--relay-max-time", allowZero: false, static (o, s) => o with { Relay = o.Relay with { MaxDuration = s } })
        .Integer("--relay-mbit", 0, 1_000_000, static (o, n) => o with { Relay = o.Relay with { BytesPerSecond = n * 125_000L } })
        .Seconds("--relay-wait", allowZero: false, static (o, s) => o with { Relay = o.Relay with { JoinTimeout = s } });

    public static ParsedCommandLine<ServerOptions> Parse(IReadOnlyList<string> args)
    {
        if (!Reader.TryRead(args, out var items, out string? error))
        {
            return ParsedCommandLine<ServerOptions>.Fail(error!);
        }
        var options = new ServerOptions();
        var trusted = new List<AddressBlock>();
        string? relayOption = null;
        foreach (var item in items)
        {
            if (item.IsPositional)
            {
                return ParsedCommandLine<ServerOptions>.Fail($"unexpected argument '{OptionValue.Printable(item.Value)}'");
            }
            string name = item.Name!;
            string value = item.Value ?? "";
            if (Numbers.TryApply(name, value, ref options, out error) is { } read)
            {
                if (!read)
                {
                    return ParsedCommandLine<ServerOptions>.Fail(error!);
                }
                relayOption = name.StartsWith("--relay-", StringComparison.Ordinal) ? name : relayOption;
                continue;
            }
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
                case "-b" or "--bind":
                    ok = IPAddress.TryParse(value.Trim('[', ']'), out var bind);
                    error = ok ? null : $"{name}: '{OptionValue.Printable(value)}' is not an IP address";
                    options = options with { Bind = bind };
                    break;
                case "--proxy-protocol":
                    options = options with { ProxyProtocol = true };
                    break;
                case "--trusted-proxy":
                    ok = AddressBlock.TryParse(value, out var block, out string? why);
                    error = ok ? null : $"{name}: '{OptionValue.Printable(value)}' {why}";
                    trusted.Add(block);
                    break;
                case "--metrics":
                    ok = TryEndPoint(value, out var metrics);
                    error = ok ? null : $"{name}: '{OptionValue.Printable(value)}' is not PORT, ADDR:PORT or [ADDR]:PORT";
                    options = options with { Metrics = metrics };
                    break;
                case "--relay":
                    options = options with { Relay = options.Relay with { Enabled = true } };
                    break;
                case "--relay-address":
                    ok = TryEndPoint(value, out var relayAddress, requireAddress: true) && relayAddress!.Port != 0
                        && !relayAddress.Address.Equals(IPAddress.Any) && !relayAddress.Address.Equals(IPAddress.IPv6Any);
                    error = ok ? null : $"{name}: '{OptionValue.Printable(value)}' is not ADDR:PORT or [ADDR]:PORT with an address clients can reach";
                    options = options with { Relay = options.Relay with { PublicAddress = relayAddress } };
                    relayOption = name;
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
        // Never guess: a PROXY header is read only when asked for, and only from proxies named.
        if (options.ProxyProtocol && trusted.Count == 0)
        {
            return ParsedCommandLine<ServerOptions>.Fail("--proxy-protocol needs at least one --trusted-proxy CIDR");
        }
        if (!options.ProxyProtocol && trusted.Count > 0)
        {
            return ParsedCommandLine<ServerOptions>.Fail("--trusted-proxy is only used with --proxy-protocol");
        }
        if (relayOption is not null && !options.Relay.Enabled)
        {
            return ParsedCommandLine<ServerOptions>.Fail(relayOption == "--relay-address"
                ? "--relay-address says where the relay is, which is off: add --relay"
                : $"{relayOption} sets a cap of the relay, which is off: add --relay");
        }
        return ParsedCommandLine<ServerOptions>.Run(options with { TrustedProxies = trusted });
    }

    /// <summary>PORT (on 127.0.0.1), IPV4:PORT, or [IPV6]:PORT; port 0 picks a free one.</summary>
    private static bool TryEndPoint(string text, out IPEndPoint? endPoint, bool requireAddress = false)
    {
        endPoint = null;
        string host = "127.0.0.1", port = text;
        int colon = text.LastIndexOf(':');
        if (colon < 0 && requireAddress)
        {
            return false;
        }
        if (colon >= 0)
        {
            host = text[..colon];
            port = text[(colon + 1)..];
            bool bracketed = host.StartsWith('[') && host.EndsWith(']');
            // An IPv6 address needs its brackets, or its last group would read as the port.
            if (bracketed ? host.Length < 3 : host.Contains(':', StringComparison.Ordinal))
            {
                return false;
            }
            host = bracketed ? host[1..^1] : host;
        }
        if (!IPAddress.TryParse(host, out var address) || (address.AddressFamily == AddressFamily.InterNetworkV6 && address.ScopeId != 0)
            || !OptionValue.TryPort("--metrics", port, allowZero: true, out int number, out _))
        {
            return false;
        }
        endPoint = new IPEndPoint(address, number);
        return true;
    }
}
