using System.Globalization;

namespace Punchhole.Server;

/// <summary>One line per event on stderr, stamped with UTC time and the program name.</summary>
internal sealed class ServerLog(TextWriter writer, bool verbose)
{
    private readonly Lock _gate = new();

    public bool Verbose { get; } = verbose;

    public void Info(string message)
    {
        string stamp = DateTime.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
        lock (_gate)
        {
            writer.WriteLine($"{stamp} tstun: {message}");
            writer.Flush();
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
