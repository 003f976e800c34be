using System.Diagnostics;

namespace Punchhole.Client;

/// <summary>
/// Messages for the user on stderr, one line each, prefixed with the program name; stdout carries
/// only data. When stderr is a terminal (and -q is not given) it also keeps one live status line
/// (progress, time left), redrawn in place with \r below the messages.
/// </summary>
internal sealed class ClientLog(TextWriter error, bool verbose, bool live = false)
{
    /// <summary>Clears the terminal's line from the cursor to its end.</summary>
    private const string ClearToEnd = "\u001b[K";

    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private string? _status;

    /// <summary>Time since the program started, for "connected after" lines.</summary>
    public TimeSpan Elapsed => _clock.Elapsed;

    /// <summary>Whether a status line is shown at all: stderr is a terminal and -q was not given.</summary>
    public bool Live => live;

    public void Info(string message)
    {
        lock (_clock)
        {
            Write(_status is null
                ? $"punchhole: {message}\n"
                : $"\r{ClearToEnd}punchhole: {message}\n\rpunchhole: {_status}{ClearToEnd}");
        }
    }

    /// <summary>Text already formatted as whole lines (a usage error from the shared command-line code).</summary>
    public void Raw(string text)
    {
        if (text.Length > 0)
        {
            lock (_clock)
            {
                Write(text);
            }
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

    /// <summary>Replaces the live status line; null removes it. Nothing happens unless <see cref="Live"/>.</summary>
    public void Status(string? text)
    {
        if (!live)
        {
            return;
        }
        lock (_clock)
        {
            if (text is null && _status is null)
            {
                return;
            }
            _status = text;
            Write(text is null ? $"\r{ClearToEnd}" : $"\rpunchhole: {text}{ClearToEnd}");
        }
    }

    private void Write(string text)
    {
        try
        {
            error.Write(text);
            error.Flush();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ObjectDisposedException)
        {
            // stderr is gone: there is nobody left to tell.
        }
    }
}
