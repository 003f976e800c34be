using System.Globalization;

namespace Punchhole.Server;

/// <summary>One line per event on stderr, stamped with UTC time and the program name. A write that fails is dropped.</summary>
internal sealed class ServerLog(TextWriter writer, bool verbose)
{
    private readonly Lock _gate = new();

    public bool Verbose { get; } = verbose;

    public void Info(string message)
    {
        string stamp = DateTime.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
        lock (_gate)
        {
            try
            {
                writer.WriteLine($"{stamp} tstun: {message}");
                writer.Flush();
            }
            catch (IOException)
            {
                // Stderr is full or gone (a disk full, a log reader that quit): serving matters
                // more than the log, and there is nowhere left to say so.
            }
        }
    }

    /// <summary>Per-connection detail: formatted only when asked for.</summary>
    public void Debug<T>(T state, Func<T, string> format)
    {
        if (Verbose)
        {
            Info(format(state));
        }
    }
}
