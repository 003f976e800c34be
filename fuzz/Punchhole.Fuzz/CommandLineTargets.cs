using System.Net.Sockets;
using System.Text;
using Punchhole.Client;
using Punchhole.Protocol.CommandLine;
using Punchhole.Server;
using static Punchhole.Fuzz.InvariantException;

namespace Punchhole.Fuzz;

/// <summary>Targets for the command-line parsers. The input is the argument list, NUL-separated.</summary>
public static class CommandLineTargets
{
    private const int MaxArguments = 64;

    /// <summary>
    /// ServerCommandLine.Parse: never throws; an error is one printable line; options it accepts are
    /// within the documented ranges, so the server can start with them.
    /// </summary>
    public static void Server(ReadOnlySpan<byte> input)
    {
        if (OptionsToRun(ServerCommandLine.Parse(Arguments(input))) is { } o)
        {
            Check(o.Port is >= 0 and <= 65535, $"port {o.Port}");
            CheckSeconds(o.WaitTimeout, allowZero: false, "timeout");
            CheckSeconds(o.KeyTimeout, allowZero: false, "key timeout");
            CheckSeconds(o.StatsInterval, allowZero: true, "stats interval");
            CheckSeconds(o.DeferAccept, allowZero: true, "defer accept");
            Check(o.MaxWaiting is >= 1 and <= 1 << 24, $"max waiting {o.MaxWaiting}");
            Check(o.MaxConnections >= 0 && o.MaxPerIp >= 0, "negative cap");
            Check(o.IoThreads is >= 1 and <= 256, $"io threads {o.IoThreads}");
        }
    }

    /// <summary>
    /// ClientCommandLine.Parse: never throws; an error is one printable line; a command line it
    /// accepts names a server, valid ports and timeouts, a non-empty key if any, and no forward
    /// together with -s or -r.
    /// </summary>
    public static void Client(ReadOnlySpan<byte> input)
    {
        if (OptionsToRun(ClientCommandLine.Parse(Arguments(input))) is { } o)
        {
            Check(o.ServerHost.Length > 0, "no server host");
            Check(o.ServerPort is >= 1 and <= 65535, $"server port {o.ServerPort}");
            Check(o.Key is null || o.Key.Length > 0, "empty key");
            Check(o.Family is null or AddressFamily.InterNetwork or AddressFamily.InterNetworkV6, $"family {o.Family}");
            CheckSeconds(o.PunchTimeout, allowZero: false, "punch timeout");
            CheckSeconds(o.WaitTimeout, allowZero: false, "wait timeout");
            switch (o.Forward)
            {
                case null:
                    break;
                case ListenForward listen:
                    Check(o.Mode == RelayMode.Both, "a forward with -s or -r");
                    Check(listen.Port is >= 0 and <= 65535, $"listen port {listen.Port}");
                    break;
                case ConnectForward connect:
                    Check(o.Mode == RelayMode.Both, "a forward with -s or -r");
                    Check(connect.Host.Length > 0 && connect.Port is >= 1 and <= 65535, $"connect {connect}");
                    break;
                default:
                    throw new InvariantException($"unknown forward {o.Forward}");
            }
        }
    }

    /// <summary>
    /// The invariants every parse shares: an error is one printable line and nothing else; help and
    /// version carry nothing; a run has options and no error. Returns the options of a run.
    /// </summary>
    private static TOptions? OptionsToRun<TOptions>(ParsedCommandLine<TOptions> result)
        where TOptions : class
    {
        switch (result.Action)
        {
            case CommandLineAction.Error:
                Check(result.Options is null, "an error with options");
                CheckOneLine(result.Error);
                return null;
            case CommandLineAction.Help or CommandLineAction.Version:
                Check(result.Options is null && result.Error is null, "help or version with options or an error");
                return null;
            case CommandLineAction.Run:
                Check(result.Options is not null && result.Error is null, "run without options");
                return result.Options;
            default:
                throw new InvariantException($"unknown action {result.Action}");
        }
    }

    /// <summary>Splits the input at NUL bytes into at most 64 UTF-8 arguments (the last may be empty).</summary>
    public static string[] Arguments(ReadOnlySpan<byte> input)
    {
        var args = new List<string>();
        while (args.Count < MaxArguments)
        {
            int nul = input.IndexOf((byte)0);
            if (nul < 0)
            {
                if (!input.IsEmpty)
                {
                    args.Add(Encoding.UTF8.GetString(input));
                }
                break;
            }
            args.Add(Encoding.UTF8.GetString(input[..nul]));
            input = input[(nul + 1)..];
        }
        return [.. args];
    }

    /// <summary>A user-facing error: present, one line, no control characters that could forge another log line.</summary>
    public static void CheckOneLine(string? error)
    {
        Check(!string.IsNullOrEmpty(error), "an error with no message");
        foreach (char c in error)
        {
            Check(!char.IsControl(c), $"control character U+{(int)c:X4} in the error line");
        }
    }

    private static void CheckSeconds(TimeSpan value, bool allowZero, string what) =>
        Check((allowZero ? value >= TimeSpan.Zero : value > TimeSpan.Zero) && value <= TimeSpan.FromSeconds(86_400), $"{what} {value}");
}
