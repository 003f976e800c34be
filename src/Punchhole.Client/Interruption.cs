using System.Runtime.InteropServices;

namespace Punchhole.Client;

/// <summary>
/// Ctrl-C (SIGINT) and SIGTERM: one line, then exit 130 or 143. Every connection that matters has
/// SO_LINGER 0 from the moment it exists, so the kernel's close at exit is a reset: the T-STUN
/// server frees our key at once instead of holding a dead waiter, and the peer sees an abort,
/// never a FIN that would pass for the end of the data. A secure session does better: it tells
/// the peer, in an authenticated record, whether it ended cleanly or aborted (<see cref="BeforeExit"/>).
/// </summary>
internal sealed class Interruption : IDisposable
{
    /// <summary>How long the work registered with <see cref="BeforeExit"/> may delay the exit.</summary>
    public static readonly TimeSpan EndingLimit = TimeSpan.FromSeconds(2);

    private const string Reset = "connections reset, nothing more is sent or received";

    private static Func<Task<string>>? s_ending;
    private static volatile bool s_started;

    private readonly ClientLog _log;
    private readonly PosixSignalRegistration[] _registrations;
    private int _signalled;

    public Interruption(ClientLog log)
    {
        _log = log;
        _registrations = [PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal), PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal)];
    }

    /// <summary>
    /// Runs <paramref name="ending"/> when a signal comes, before the exit, for at most
    /// <see cref="EndingLimit"/>; the text it returns says what became of the connection. One at a
    /// time, for the whole process (signals are process-wide). Disposing the result unregisters it.
    /// </summary>
    public static IDisposable BeforeExit(Func<Task<string>> ending)
    {
        Volatile.Write(ref s_ending, ending);
        return new Registration(ending);
    }

    /// <summary>True once a signal has come: the process is ending, and its handler decides the exit status.</summary>
    public static bool Started => s_started;

    /// <summary>
    /// Never completes once a signal has come: the session that the signal's ending closed must not
    /// return its own status, nor print its own lines, before the handler exits.
    /// </summary>
    public static Task HoldIfStartedAsync() => s_started ? Task.Delay(Timeout.Infinite) : Task.CompletedTask;

    private void OnSignal(PosixSignalContext context)
    {
        context.Cancel = true;
        var (name, code) = context.Signal == PosixSignal.SIGINT ? ("SIGINT", 130) : ("SIGTERM", 143);
        if (Interlocked.Exchange(ref _signalled, 1) != 0)
        {
            // A second signal while the first is ending the session: go at once.
            Environment.Exit(code);
        }
        s_started = true;
        string what = Reset;
        if (Volatile.Read(ref s_ending) is { } ending)
        {
            try
            {
                var ended = Task.Run(ending);
                if (ended.Wait(EndingLimit))
                {
                    what = ended.Result;
                }
            }
            catch (AggregateException)
            {
                // The session failed while ending: the sockets are reset at exit, as without it.
            }
        }
        _log.Status(null);
        _log.Info($"interrupted by {name}: {what}");
        Environment.Exit(code);
    }

    public void Dispose()
    {
        foreach (var registration in _registrations)
        {
            registration.Dispose();
        }
    }

    private sealed class Registration(Func<Task<string>> ending) : IDisposable
    {
        public void Dispose() => Interlocked.CompareExchange(ref s_ending, null, ending);
    }
}
