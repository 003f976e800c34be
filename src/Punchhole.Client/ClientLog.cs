using System.Diagnostics;

namespace Punchhole.Client;

/// <summary>Progress for the user on stderr, one line each, prefixed with the program name; stdout carries only data.</summary>
internal sealed class ClientLog(TextWriter error, bool verbose)
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    /// <summary>Time since the program started, for "connected after" lines.</summary>
    public TimeSpan Elapsed => _clock.Elapsed;

    public void Info(string message)
    {
        lock (error)
        {
            error.WriteLine($"punchhole: {message}");
            error.Flush();
        }
    }

    /// <summary>Detail shown only with -v.</summary>
    public void Detail(string message)
    {
        if (verbose)
        {
            Info(message);
        }
    }
}
