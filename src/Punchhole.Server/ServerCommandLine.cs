using System.Globalization;
using System.Net;

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
          -v, --verbose            log every connection (debugging only)
          -h, --help               show this help
              --version            show the version

        Signals: SIGTERM/SIGINT stop the server; SIGUSR1 logs the counters now.
        """;

    public static CommandLineResult Parse(IReadOnlyList<string> args)
    {
        var options = new ServerOptions();
        for (int i = 0; i < args.Count; i++)
        {
            string arg = args[i];
            string name = arg;
            string? inlineValue = null;
            int equals = arg.IndexOf('=', StringComparison.Ordinal);
            if (arg.StartsWith("--", StringComparison.Ordinal) && equals > 0)
            {
                name = arg[..equals];
                inlineValue = arg[(equals + 1)..];
            }

            string? error = null;
            string Value()
            {
                if (inlineValue is not null)
                {
                    return inlineValue;
                }
                if (i + 1 < args.Count)
                {
                    return args[++i];
                }
                error = $"option {name} needs a value";
                return "";
            }

            switch (name)
            {
                case "-h" or "--help":
                    return CommandLineResult.ShowHelp();
                case "--version":
                    return CommandLineResult.ShowVersion();
                case "-v" or "--verbose":
                    options = options with { Verbose = true };
                    break;
                case "-p" or "--port":
                    options = options with { Port = Integer(name, Value(), 0, 65535, ref error) };
                    break;
                case "-b" or "--bind":
                    string text = Value();
                    if (IPAddress.TryParse(text.Trim('[', ']'), out var bind))
                    {
                        options = options with { Bind = bind };
                    }
                    else
                    {
                        error ??= $"{name}: '{Printable(text)}' is not an IP address";
                    }
                    break;
                case "-t" or "--timeout":
                    options = options with { WaitTimeout = Seconds(name, Value(), allowZero: false, ref error) };
                    break;
                case "-k" or "--key-timeout":
                    options = options with { KeyTimeout = Seconds(name, Value(), allowZero: false, ref error) };
                    break;
                case "--stats-interval":
                    options = options with { StatsInterval = Seconds(name, Value(), allowZero: true, ref error) };
                    break;
                case "--max-waiting":
                    options = options with { MaxWaiting = Integer(name, Value(), 1, 1 << 24, ref error) };
                    break;
                case "--max-connections":
                    options = options with { MaxConnections = Integer(name, Value(), 1, int.MaxValue, ref error) };
                    break;
                case "--defer-accept":
                    options = options with { DeferAccept = Seconds(name, Value(), allowZero: true, ref error) };
                    break;
                case "--io-threads":
                    options = options with { IoThreads = Integer(name, Value(), 1, 256, ref error) };
                    break;
                case "--max-per-ip":
                    options = options with { MaxPerIp = Integer(name, Value(), 0, int.MaxValue, ref error) };
                    break;
                default:
                    error = arg.StartsWith('-') ? $"unknown option '{Printable(arg)}'" : $"unexpected argument '{Printable(arg)}'";
                    break;
            }
            if (error is not null)
            {
                return CommandLineResult.Fail(error);
            }
        }
        return CommandLineResult.Run(options);
    }

    private static int Integer(string name, string text, int min, int max, ref string? error)
    {
        if (error is not null)
        {
            return 0;
        }
        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int value) || value < min || value > max)
        {
            error = $"{name}: '{Printable(text)}' is not a whole number from {min} to {max}";
        }
        return value;
    }

    private static TimeSpan Seconds(string name, string text, bool allowZero, ref string? error)
    {
        if (error is not null)
        {
            return TimeSpan.Zero;
        }
        // NaN and Infinity parse whatever the styles say, and a positive value below one tick rounds to zero.
        if (!double.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double seconds)
            || !double.IsFinite(seconds) || seconds > 86_400 || seconds < 0
            || (!allowZero && TimeSpan.FromSeconds(seconds) <= TimeSpan.Zero))
        {
            error = $"{name}: '{Printable(text)}' is not a number of seconds{(allowZero ? "" : " above 0")} (at most 86400)";
            return TimeSpan.Zero;
        }
        return TimeSpan.FromSeconds(seconds);
    }

    /// <summary>
    /// User text as it may appear in the one-line error: control characters (a newline could forge
    /// a second log line) are written as \uXXXX escapes, and very long text is cut.
    /// </summary>
    internal static string Printable(string text)
    {
        const int MaxShown = 80;
        var shown = new System.Text.StringBuilder(Math.Min(text.Length, MaxShown) + 8);
        foreach (char c in text.Length > MaxShown ? text.AsSpan(0, MaxShown) : text)
        {
            if (char.IsControl(c))
            {
                shown.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}");
            }
            else
            {
                shown.Append(c);
            }
        }
        return text.Length > MaxShown ? shown.Append("...").ToString() : shown.ToString();
    }
}

/// <summary>What the command line asks for.</summary>
internal sealed record CommandLineResult(CommandLineAction Action, ServerOptions? Options, string? Error)
{
    public static CommandLineResult Run(ServerOptions options) => new(CommandLineAction.Run, options, null);

    public static CommandLineResult ShowHelp() => new(CommandLineAction.Help, null, null);

    public static CommandLineResult ShowVersion() => new(CommandLineAction.Version, null, null);

    public static CommandLineResult Fail(string error) => new(CommandLineAction.Error, null, error);
}

internal enum CommandLineAction
{
    Run,
    Help,
    Version,
    Error,
}
