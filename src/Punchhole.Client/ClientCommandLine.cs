using System.Net;
using System.Net.Sockets;
using Punchhole.Protocol.CommandLine;
using Punchhole.Secure.Codes;

namespace Punchhole.Client;

/// <summary>
/// Parses punchhole's command line: the original client's getopt options unchanged
/// (<c>-46hsr -T host -P port -H bind [KEY]</c>, bundled as in <c>-4sT host KEY</c>) plus long
/// options and port forwarding. Errors are one line for the user, never an exception.
/// </summary>
internal static class ClientCommandLine
{
    public const string Usage = """
        Usage: punchhole [-4|-6] -T TSTUN_HOST [-P TSTUN_PORT] [-H BIND_ADDR] [-s|-r] [options] [KEY]
        Reach a peer behind a NAT or firewall over TCP: both sides run punchhole with the same KEY
        and the same T-STUN server; data flows between stdin/stdout and the peer, like ncat.
        The connection is authenticated and encrypted: KEY is a code such as 482913-word-word-word
        (one is generated and printed if not given) or a phrase of your own; only the code's
        number reaches the server, and a wrong code or a party in between fails both sides.

          -4, --ipv4                 use IPv4           -6, --ipv6    use IPv6
                                     (default: the family of the T-STUN server's address)
          -T, --tstun HOST           T-STUN server host (required)
          -P, --tstun-port PORT      T-STUN server port (default 3477)
          -H, --bind ADDR            bind to this local address
          -s, --send-only            send only (stdin -> peer); data from the peer is an error
                                     (is the other side also using -s?)
          -r, --receive-only         receive only (peer -> stdout); data on stdin is never sent and
                                     makes the exit status 1 (a terminal or an empty stdin is fine)
          -L, --listen [BIND:]PORT   forward: listen on BIND:PORT (BIND a name or address, default
                                     127.0.0.1) and carry every connection accepted there over the
                                     punched connection, until interrupted (--plain: the first
                                     connection only; a second one is refused)
          -R, --connect HOST:PORT    forward: connect to the service at HOST:PORT once for each
                                     connection the other side carries (--plain: once)
              --plain                no encryption or authentication, and the original key
                                     (SHA-256 of KEY): to talk to the original Python punchhole
              --no-relay             never continue through the T-STUN server's relay (by default,
                                     when no direct path exists and the server offers its relay,
                                     the encrypted session goes through it; --plain never does)
              --punch-timeout S      keep trying the simultaneous open for S seconds (default 10)
              --wait-timeout S       wait at most S seconds for the peer (default 600); when the
                                     server ends a wait sooner, ask it again from the same port
          -q, --quiet                no live progress line on a terminal
          -v, --verbose              report every attempt
          -h, --help                 show this help
              --version              show the version

        SSH to a host behind a NAT, no other tool needed:
          there:  punchhole -4T tstun.example.org -R localhost:22 KEY
          here:   punchhole -4T tstun.example.org -L 2222 KEY   then   ssh -p 2222 localhost
        Exit status: 0 only when every byte read was delivered and the peer ended cleanly; 1 for any
        failure (data lost, a reset, the connection failed: one line says which side and why);
        2 for bad usage; 130/143 when interrupted by SIGINT/SIGTERM (connections are reset).

        """;

    private static readonly OptionReader Reader = new(
        shortFlags: "46hsrvq",
        shortWithValue: "TPHLR",
        longFlags: ["ipv4", "ipv6", "help", "version", "send-only", "receive-only", "verbose", "quiet", "plain", "no-relay"],
        longWithValue: ["tstun", "tstun-port", "bind", "listen", "connect", "punch-timeout", "wait-timeout"]);

    public static ParsedCommandLine<ClientOptions> Parse(IReadOnlyList<string> args)
    {
        if (!Reader.TryRead(args, out var items, out string? error))
        {
            return ParsedCommandLine<ClientOptions>.Fail(error!);
        }
        var options = new ClientOptions();
        bool sawKey = false;
        foreach (var item in items)
        {
            if (item.IsPositional)
            {
                if (sawKey)
                {
                    return ParsedCommandLine<ClientOptions>.Fail($"unexpected argument '{OptionValue.Printable(item.Value)}': only one KEY is allowed");
                }
                sawKey = true;
                options = options with { Key = item.Value };
                continue;
            }
            string name = item.Name!;
            string value = item.Value ?? "";
            switch (name)
            {
                case "-h" or "--help":
                    return ParsedCommandLine<ClientOptions>.ShowHelp();
                case "--version":
                    return ParsedCommandLine<ClientOptions>.ShowVersion();
                case "-4" or "--ipv4" or "-6" or "--ipv6":
                    var family = name is "-4" or "--ipv4" ? AddressFamily.InterNetwork : AddressFamily.InterNetworkV6;
                    if (options.Family is { } chosen && chosen != family)
                    {
                        return ParsedCommandLine<ClientOptions>.Fail("-4 and -6 exclude each other");
                    }
                    options = options with { Family = family };
                    break;
                case "-s" or "--send-only" or "-r" or "--receive-only":
                    var mode = name is "-s" or "--send-only" ? RelayMode.SendOnly : RelayMode.ReceiveOnly;
                    if (options.Mode != RelayMode.Both && options.Mode != mode)
                    {
                        return ParsedCommandLine<ClientOptions>.Fail("-s and -r exclude each other");
                    }
                    options = options with { Mode = mode };
                    break;
                case "-v" or "--verbose":
                    options = options with { Verbose = true };
                    break;
                case "-q" or "--quiet":
                    options = options with { Quiet = true };
                    break;
                case "--plain":
                    options = options with { Plain = true };
                    break;
                case "--no-relay":
                    options = options with { NoRelay = true };
                    break;
                case "-T" or "--tstun":
                    if (value.Length == 0)
                    {
                        return ParsedCommandLine<ClientOptions>.Fail($"{name}: the T-STUN host is empty");
                    }
                    options = options with { ServerHost = value.Trim('[', ']') };
                    break;
                case "-P" or "--tstun-port":
                    if (!OptionValue.TryPort(name, value, allowZero: false, out int port, out error))
                    {
                        return ParsedCommandLine<ClientOptions>.Fail(error!);
                    }
                    options = options with { ServerPort = port };
                    break;
                case "-H" or "--bind":
                    if (!IPAddress.TryParse(value.Trim('[', ']'), out var bind))
                    {
                        return ParsedCommandLine<ClientOptions>.Fail($"{name}: '{OptionValue.Printable(value)}' is not an IP address");
                    }
                    options = options with { Bind = bind };
                    break;
                case "-L" or "--listen" or "-R" or "--connect":
                    if (options.Forward is not null)
                    {
                        return ParsedCommandLine<ClientOptions>.Fail("only one of -L and -R, once");
                    }
                    Forward? forward = name is "-L" or "--listen" ? ParseListen(name, value, out error) : ParseConnect(name, value, out error);
                    if (forward is null)
                    {
                        return ParsedCommandLine<ClientOptions>.Fail(error!);
                    }
                    options = options with { Forward = forward };
                    break;
                case "--punch-timeout" or "--wait-timeout":
                    if (!OptionValue.TrySeconds(name, value, allowZero: false, out var seconds, out error))
                    {
                        return ParsedCommandLine<ClientOptions>.Fail(error!);
                    }
                    options = name == "--punch-timeout" ? options with { PunchTimeout = seconds } : options with { WaitTimeout = seconds };
                    break;
                default:
                    return ParsedCommandLine<ClientOptions>.Fail($"unhandled option '{name}'");
            }
        }
        if (options.ServerHost.Length == 0)
        {
            return ParsedCommandLine<ClientOptions>.Fail("-T TSTUN_HOST is required");
        }
        if (options.Forward is not null && options.Mode != RelayMode.Both)
        {
            return ParsedCommandLine<ClientOptions>.Fail("-s and -r relay stdin/stdout; they cannot be combined with -L or -R");
        }
        if (options.Key is { Length: 0 })
        {
            return ParsedCommandLine<ClientOptions>.Fail("KEY is empty");
        }
        if (!options.Plain && options.Key is { } key && PairingCode.LooksLikeCode(key))
        {
            try
            {
                PairingCode.Parse(key);
            }
            catch (CodeFormatException e)
            {
                // Refused rather than taken as a phrase: a mistyped code would otherwise wait, unmatched, for its whole window.
                return ParsedCommandLine<ClientOptions>.Fail($"KEY: {e.Message}; {PairingCode.PhraseShapeAdvice}");
            }
        }
        return ParsedCommandLine<ClientOptions>.Run(options);
    }

    /// <summary>[BIND:]PORT with BIND a name or an IP address, possibly in brackets; loopback by default, as ssh -L.</summary>
    private static ListenForward? ParseListen(string name, string text, out string? error)
    {
        var (host, portText) = SplitHostPort(text);
        if (host is { Length: 0 })
        {
            error = $"{name}: '{OptionValue.Printable(text)}' has an empty address (use {name} [BIND:]PORT)";
            return null;
        }
        if (host is not null && !IsHostText(host))
        {
            error = $"{name}: '{OptionValue.Printable(host)}' is not a host name or address";
            return null;
        }
        // Port 0 lets the system pick one; the chosen port is logged.
        return OptionValue.TryPort(name, portText, allowZero: true, out int port, out error)
            ? new ListenForward(host, port)
            : null;
    }

    /// <summary>HOST:PORT, with HOST a name or an IP address, possibly in brackets.</summary>
    private static ConnectForward? ParseConnect(string name, string text, out string? error)
    {
        var (host, portText) = SplitHostPort(text);
        if (string.IsNullOrEmpty(host))
        {
            error = $"{name}: '{OptionValue.Printable(text)}' is not HOST:PORT";
            return null;
        }
        if (!IsHostText(host))
        {
            error = $"{name}: '{OptionValue.Printable(host)}' is not a host name or address";
            return null;
        }
        return OptionValue.TryPort(name, portText, allowZero: false, out int port, out error)
            ? new ConnectForward(host, port)
            : null;
    }

    /// <summary>
    /// Characters a host name or an IP address can hold (an IPv6 address with its zone too): what
    /// else is typed there is a mistake, better said now than as a failed lookup after the peer came.
    /// </summary>
    private static bool IsHostText(string host) =>
        host.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' or ':' or '%');

    private static (string? Host, string Port) SplitHostPort(string text)
    {
        int colon = text.LastIndexOf(':');
        if (colon < 0)
        {
            return (null, text);
        }
        string host = text[..colon];
        if (host.StartsWith('[') && host.EndsWith(']'))
        {
            host = host[1..^1];
        }
        return (host, text[(colon + 1)..]);
    }
}
