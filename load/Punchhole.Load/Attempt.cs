using System.Net.Sockets;

namespace Punchhole.Load;

/// <summary>
/// Something in flight that must end by a deadline: a pairing or a lonely client. It is armed once
/// its sockets exist and disarmed when it ends; the <see cref="Watchdog"/> aborts (closes the
/// sockets of) an armed attempt whose deadline has passed, which makes its pending I/O fail at once.
/// Whoever moves it out of the armed state first decides: the attempt itself (it finished in time)
/// or the watchdog (it did not). Reused from one attempt to the next.
/// </summary>
internal abstract class Attempt
{
    private const int Idle = 0, Armed = 1, Aborting = 2, Aborted = 3;

    private int _state;
    private long _deadline;
    private ErrorKind _abortReason;

    /// <summary>Why the watchdog aborted this attempt (<see cref="ErrorKind.Timeout"/> or <see cref="ErrorKind.Unfinished"/>), or null.</summary>
    public ErrorKind? AbortedFor => Volatile.Read(ref _state) is Aborting or Aborted ? _abortReason : null;

    /// <summary>Starts the clock: the watchdog aborts the attempt at <paramref name="deadline"/> (Stopwatch ticks).</summary>
    protected void Arm(long deadline)
    {
        _deadline = deadline;
        Volatile.Write(ref _state, Armed);
    }

    /// <summary>Stops the clock; false if the watchdog got there first and aborted the attempt.</summary>
    protected bool Disarm() => Interlocked.CompareExchange(ref _state, Idle, Armed) == Armed;

    /// <summary>
    /// Makes the attempt ready for its next run. If the watchdog is still closing its sockets,
    /// waits for it (a few instructions), so it cannot close the next run's sockets instead.
    /// </summary>
    protected void Reset()
    {
        var spinner = new SpinWait();
        while (Volatile.Read(ref _state) == Aborting)
        {
            spinner.SpinOnce();
        }
        Volatile.Write(ref _state, Idle);
    }

    /// <summary>Called by the watchdog: aborts the attempt if it is armed and (unless <paramref name="force"/>) overdue.</summary>
    public void AbortIfOverdue(long now, bool force)
    {
        if (Volatile.Read(ref _state) != Armed || (!force && now < Volatile.Read(ref _deadline)))
        {
            return;
        }
        _abortReason = force ? ErrorKind.Unfinished : ErrorKind.Timeout;
        if (Interlocked.CompareExchange(ref _state, Aborting, Armed) == Armed)
        {
            AbortSockets();
            Volatile.Write(ref _state, Aborted);
        }
    }

    /// <summary>Closes every socket of the attempt, from the watchdog's thread; their pending operations then fail.</summary>
    protected abstract void AbortSockets();

    /// <summary>What an exception from the attempt's I/O means.</summary>
    protected ErrorKind Classify(Exception exception) => exception switch
    {
        SocketException e => ErrorKinds.FromSocketError(e.SocketErrorCode, AbortedFor),
        ObjectDisposedException or OperationCanceledException => AbortedFor ?? ErrorKind.Unfinished,
        _ => throw new InvalidOperationException($"unexpected failure of a load attempt: {exception}", exception),
    };
}
