namespace Punchhole.Protocol.CommandLine;

/// <summary>One item of a command line: an option with its value, or a positional argument.</summary>
/// <param name="Name">"-x" or "--long" for an option; null for a positional argument.</param>
/// <param name="Value">The option's value, or the positional argument itself.</param>
public readonly record struct CommandLineItem(string? Name, string? Value)
{
    /// <summary>True for a positional argument.</summary>
    public bool IsPositional => Name is null;
}

/// <summary>
/// Splits a command line the way POSIX getopt and GNU getopt_long do, so both programs accept
/// the original client's bundled flags (<c>-4sT host KEY</c>): short flags bundle, a short
/// option's value may be attached (<c>-P3478</c>) or follow, long options take <c>--name=value</c>
/// or <c>--name value</c>, and <c>--</c> ends the options. Errors are one line, never exceptions.
/// </summary>
public sealed class OptionReader
{
    private readonly string _shortFlags;
    private readonly string _shortWithValue;
    private readonly IReadOnlyCollection<string> _longFlags;
    private readonly IReadOnlyCollection<string> _longWithValue;

    /// <param name="shortFlags">Letters of short options without a value, e.g. "46hsr".</param>
    /// <param name="shortWithValue">Letters of short options that take a value, e.g. "TPH".</param>
    /// <param name="longFlags">Long options without a value, without the leading "--".</param>
    /// <param name="longWithValue">Long options that take a value, without the leading "--".</param>
    public OptionReader(string shortFlags, string shortWithValue, IReadOnlyCollection<string> longFlags, IReadOnlyCollection<string> longWithValue)
    {
        _shortFlags = shortFlags;
        _shortWithValue = shortWithValue;
        _longFlags = longFlags;
        _longWithValue = longWithValue;
    }

    /// <summary>The items in order, or false with a one-line error.</summary>
    public bool TryRead(IReadOnlyList<string> args, out List<CommandLineItem> items, out string? error)
    {
        ArgumentNullException.ThrowIfNull(args);
        items = [];
        error = null;
        bool optionsEnded = false;
        for (int i = 0; i < args.Count; i++)
        {
            string arg = args[i] ?? "";
            if (optionsEnded || arg.Length < 2 || arg[0] != '-')
            {
                // A lone "-" is a positional argument, as in getopt.
                items.Add(new CommandLineItem(null, arg));
            }
            else if (arg == "--")
            {
                optionsEnded = true;
            }
            else if (arg[1] == '-')
            {
                if (!TryReadLong(args, ref i, items, out error))
                {
                    return false;
                }
            }
            else if (!TryReadShortBundle(args, ref i, items, out error))
            {
                return false;
            }
        }
        return true;
    }

    private bool TryReadLong(IReadOnlyList<string> args, ref int i, List<CommandLineItem> items, out string? error)
    {
        string arg = args[i];
        int equals = arg.IndexOf('=', StringComparison.Ordinal);
        string name = equals < 0 ? arg[2..] : arg[2..equals];
        if (_longFlags.Contains(name))
        {
            error = equals < 0 ? null : $"option --{name} takes no value";
            items.Add(new CommandLineItem("--" + name, null));
            return error is null;
        }
        if (!_longWithValue.Contains(name))
        {
            error = $"unknown option '--{name}'";
            return false;
        }
        string? value = equals >= 0 ? arg[(equals + 1)..] : i + 1 < args.Count ? args[++i] : null;
        if (value is null)
        {
            error = $"option --{name} needs a value";
            return false;
        }
        items.Add(new CommandLineItem("--" + name, value));
        error = null;
        return true;
    }

    private bool TryReadShortBundle(IReadOnlyList<string> args, ref int i, List<CommandLineItem> items, out string? error)
    {
        string arg = args[i];
        for (int j = 1; j < arg.Length; j++)
        {
            char letter = arg[j];
            if (_shortFlags.Contains(letter, StringComparison.Ordinal))
            {
                items.Add(new CommandLineItem("-" + letter, null));
                continue;
            }
            if (!_shortWithValue.Contains(letter, StringComparison.Ordinal))
            {
                error = $"unknown option '-{letter}'";
                return false;
            }
            // The rest of the bundle is the value (-P3478), else the next argument (-T host).
            string? value = j + 1 < arg.Length ? arg[(j + 1)..] : i + 1 < args.Count ? args[++i] : null;
            if (value is null)
            {
                error = $"option -{letter} needs a value";
                return false;
            }
            items.Add(new CommandLineItem("-" + letter, value));
            break;
        }
        error = null;
        return true;
    }
}
