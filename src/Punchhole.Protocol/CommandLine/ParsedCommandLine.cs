namespace Punchhole.Protocol.CommandLine;

/// <summary>What a command line asks a program to do.</summary>
public enum CommandLineAction
{
    /// <summary>Run with the parsed options.</summary>
    Run,

    /// <summary>Print the usage and exit 0.</summary>
    Help,

    /// <summary>Print the version and exit 0.</summary>
    Version,

    /// <summary>Print the one-line error and exit 2.</summary>
    Error,
}

/// <summary>The outcome of parsing a command line into <typeparamref name="TOptions"/>.</summary>
public sealed record ParsedCommandLine<TOptions>(CommandLineAction Action, TOptions? Options, string? Error)
    where TOptions : class
{
    /// <summary>Run with these options.</summary>
    public static ParsedCommandLine<TOptions> Run(TOptions options) => new(CommandLineAction.Run, options, null);

    /// <summary>-h/--help.</summary>
    public static ParsedCommandLine<TOptions> ShowHelp() => new(CommandLineAction.Help, null, null);

    /// <summary>--version.</summary>
    public static ParsedCommandLine<TOptions> ShowVersion() => new(CommandLineAction.Version, null, null);

    /// <summary>A usage error, one line.</summary>
    public static ParsedCommandLine<TOptions> Fail(string error) => new(CommandLineAction.Error, null, error);

    /// <summary>
    /// Answers help, version and usage errors the same way in every program: usage or version on
    /// stdout with exit code 0, or "program: error (try -h)" on stderr with exit code 2.
    /// </summary>
    /// <returns>The exit code, or null when the program should run.</returns>
    public int? Respond(string program, string usage, TextWriter output, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        switch (Action)
        {
            case CommandLineAction.Help:
                output.Write(usage);
                return 0;
            case CommandLineAction.Version:
                var version = System.Reflection.CustomAttributeExtensions.GetCustomAttribute<System.Reflection.AssemblyInformationalVersionAttribute>(typeof(TOptions).Assembly);
                output.WriteLine($"{program} {version?.InformationalVersion ?? "?"}");
                return 0;
            case CommandLineAction.Error:
                error.WriteLine($"{program}: {Error} (try -h)");
                return 2;
            default:
                return null;
        }
    }
}
