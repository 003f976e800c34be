using System.Net;
using System.Net.Sockets;

namespace Punchhole.Client.Punch;

/// <summary>
/// The TCP simultaneous open (RFC 793 fig. 8), made to survive real NATs.
/// <list type="bullet">
/// <item>The local port also listens, so a peer SYN that arrives while none of ours is in flight
/// is accepted instead of reset by our kernel. One 4-tuple means one connection either way.
/// Several punches may share the port, each to its own target (<see cref="PortArrivals"/>).</item>
/// <item>A connecting socket is kept while it waits, so the SYN our NAT has seen is the one that
/// answers the peer's: a NAT that has seen the peer's SYN treats a SYN with a new sequence number
/// as invalid. But not for ever: a SYN unanswered for <see cref="AttemptBound"/> is given up and a
/// new one sent at once, before the kernel's backoff (retransmissions doubling apart) would leave
/// the port with one SYN for most of the punch.</item>
/// <item>A reset (a NAT that answers unsolicited SYNs with RST, RFC 5382 allows it) ends a socket;
/// the next follows a few milliseconds after the previous one started (<see cref="SynPacing"/>:
/// at most 200 SYNs a second, with jitter) until two SYNs cross between the NATs, which is all a
/// resetting NAT needs. Each outcome is counted for the diagnosis.</item>
/// <item>The connection returned carries a bound on unacknowledged data (<see cref="DeadPathBound"/>):
/// one that came up dead in one direction ends with an error instead of hanging.</item>
/// </list>
/// </summary>
internal sealed class HolePuncher(LocalPort port, IPEndPoint peer, ClientOptions options, ClientLog log)
{
    /// <summary>
    /// How long one SYN may wait for an answer: through the kernel's first retransmissions of it
    /// (1, 2 and 3 s after it with Linux's linear SYN timeouts; 1 and 3 s with the older doubling),
    /// which carry the sequence number the NATs have seen, but not through its later, ever sparser ones.
    /// </summary>
    public static readonly TimeSpan AttemptBound = TimeSpan.FromMilliseconds(3500);

    private static readonly TimeSpan ProgressInterval = TimeSpan.FromSeconds(2);

    /// <summary>The pause after the port's 4-tuple was found taken: the listener is answering the peer's SYN.</summary>
    private static readonly TimeSpan OccupiedPause = TimeSpan.FromMilliseconds(20);

    private readonly PunchTally _tally = new();
    private readonly SynPacing _pacing = new();
    private TimeSpan _lastProgress;

    /// <summary>
    /// The connected socket, or a <see cref="ClientFailure"/> with the diagnosis. <paramref name="stop"/>
    /// ends the punch early, as its deadline does (another path to the peer won).
    /// </summary>
    public async Task<Socket> PunchAsync(CancellationToken stop = default)
    {
        var started = log.Elapsed;
        _lastProgress = started;
        log.Info($"punching {peer} from {port.EndPoint} (up to {options.PunchTimeout.TotalSeconds:0.#} s)");
        using var done = CancellationTokenSource.CreateLinkedTokenSource(stop);
        done.CancelAfter(options.PunchTimeout);
        var accepted = AcceptPeerAsync(done.Token);
        var connected = ConnectLoopAsync(done.Token);
        var first = await Task.WhenAny(accepted, connected).ConfigureAwait(false);
        await done.CancelAsync().ConfigureAwait(false);
        var (winner, winnerError) = await OutcomeOf(first).ConfigureAwait(false);
        var (other, otherError) = await OutcomeOf(first == accepted ? connected : accepted).ConfigureAwait(false);
        bool viaAccept = first == accepted;
        if (winner is null && other is not null)
        {
            // Both ended at the deadline, and the other had just succeeded: take it.
            (winner, other, viaAccept) = (other, null, !viaAccept);
        }
        // One 4-tuple cannot be connected twice, but close whatever the other side produced.
        other?.Dispose();
        if (winner is null)
        {
            if ((winnerError ?? otherError) is { } error)
            {
                throw new ClientFailure($"punching failed: {ErrorText.Of(error)}", error);
            }
            throw new ClientFailure(_tally.Diagnose(log.Elapsed - started));
        }
        DeadPathBound.Apply(winner);
        log.Info($"connected to {peer} {(viaAccept ? "(the peer's SYN reached us)" : "(our SYN reached the peer)")} after {(log.Elapsed - started).TotalSeconds:0.00} s");
        return winner;
    }

    private static async Task<(Socket? Socket, Exception? Error)> OutcomeOf(Task<Socket?> attempt)
    {
        try
        {
            return (await attempt.ConfigureAwait(false), null);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            return (null, e);
        }
    }

    private async Task<Socket?> AcceptPeerAsync(CancellationToken stop)
    {
        try
        {
            return await port.Arrivals.WaitForAsync(peer, log, stop).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or InvalidOperationException)
        {
            // Without the listener the connects alone can still succeed.
            log.Detail($"cannot accept on {port.EndPoint}: {ErrorText.Of(e)}");
            await Task.Delay(Timeout.Infinite, stop).ContinueWith(_ => { }, TaskScheduler.Default).ConfigureAwait(false);
            return null;
        }
    }

    private async Task<Socket?> ConnectLoopAsync(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            int attempt = _tally.Attempts + 1;
            Socket? socket = null;
            TimeSpan pause;
            using var bound = CancellationTokenSource.CreateLinkedTokenSource(stop);
            try
            {
                socket = LocalPort.NewSocket(port.EndPoint);
                bound.CancelAfter(AttemptBound);
                _pacing.Started();
                await socket.ConnectAsync(peer, bound.Token).ConfigureAwait(false);
                _tally.Attempts++;
                return socket;
            }
            catch (OperationCanceledException)
            {
                socket?.Dispose();
                _tally.Attempts++;
                _tally.Unanswered++;
                if (stop.IsCancellationRequested)
                {
                    return null;
                }
                // Closing a socket that only sent a SYN sends nothing; our NAT keeps the mapping,
                // and the new SYN (a higher sequence number) refreshes it at once.
                log.Detail($"attempt {attempt}: no answer in {AttemptBound.TotalSeconds:0.0#} s; a new SYN replaces it");
                pause = TimeSpan.Zero;
            }
            catch (SocketException e)
            {
                socket?.Dispose();
                pause = Outcome(attempt, e);
            }
            ReportProgress();
            // Whatever ended the attempt, the next SYN keeps its distance from this one.
            var paced = _pacing.Pause();
            if (paced > pause)
            {
                pause = paced;
            }
            if (pause > TimeSpan.Zero && !await PauseAsync(pause, stop).ConfigureAwait(false))
            {
                return null;
            }
        }
        return null;
    }

    private static async Task<bool> PauseAsync(TimeSpan pause, CancellationToken stop)
    {
        try
        {
            await Task.Delay(pause, stop).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>Counts a failed attempt; returns how long to wait before the next.</summary>
    private TimeSpan Outcome(int attempt, SocketException e)
    {
        if (e.SocketErrorCode == SocketError.AddressNotAvailable)
        {
            // The 4-tuple is taken, no SYN left: the listener is answering the peer's own SYN.
            _tally.Occupied++;
            log.Detail($"attempt {attempt}: the connection already exists");
            return OccupiedPause;
        }
        _tally.Attempts++;
        switch (e.SocketErrorCode)
        {
            case SocketError.ConnectionRefused:
                if (_tally.Refused++ == 0)
                {
                    log.Info("reset by the peer's side: its SYN is not out yet or its NAT resets unsolicited SYNs; retrying until our SYNs cross");
                }
                log.Detail($"attempt {attempt}: refused");
                // As soon as the pacing allows (the caller waits for it).
                return TimeSpan.Zero;
            case SocketError.TimedOut:
                _tally.Unanswered++;
                log.Info($"attempt {attempt}: the kernel gave up retransmitting our SYN; trying a new one");
                return TimeSpan.Zero;
            default:
                _tally.Unreachable++;
                log.Info($"attempt {attempt}: {ErrorText.Of(e)}; trying again");
                return TimeSpan.FromMilliseconds(Random.Shared.Next(200, 400));
        }
    }

    private void ReportProgress()
    {
        if (log.Elapsed - _lastProgress >= ProgressInterval)
        {
            _lastProgress = log.Elapsed;
            log.Info($"still punching: {_tally.Attempts} attempts, {_tally.Refused} refused, {_tally.Unreachable} unreachable");
        }
    }
}
