using System.Net;
using System.Net.Sockets;

namespace Punchhole.Client.Punch;

/// <summary>
/// The TCP simultaneous open (RFC 793 fig. 8), made to survive real NATs.
/// <list type="bullet">
/// <item>The local port also listens, so a peer SYN that arrives while none of ours is in flight
/// is accepted instead of reset by our kernel. One 4-tuple means one connection either way.</item>
/// <item>One connecting socket is kept for as long as it lives, so the kernel retransmits the
/// same SYN (same sequence number): a NAT that has seen the peer's SYN treats a SYN with a new
/// sequence number as invalid and may pass it untranslated or drop it.</item>
/// <item>A reset (a NAT that answers unsolicited SYNs with RST, RFC 5382 allows it) ends a socket;
/// the next follows after at most a few milliseconds, so the two sides' SYNs soon cross between
/// the NATs, which is all a resetting NAT needs. Each outcome is counted for the diagnosis.</item>
/// </list>
/// </summary>
internal sealed class HolePuncher(LocalPort port, IPEndPoint peer, ClientOptions options, ClientLog log)
{
    private static readonly TimeSpan ProgressInterval = TimeSpan.FromSeconds(2);

    private readonly PunchTally _tally = new();
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
            port.Listen();
            while (true)
            {
                var socket = await port.AcceptAsync(stop).ConfigureAwait(false);
                if (socket.RemoteEndPoint is IPEndPoint remote && remote.Equals(peer))
                {
                    return socket;
                }
                _tally.Strangers++;
                log.Detail($"closed a connection from {socket.RemoteEndPoint}, which is not the peer");
                socket.LingerState = new LingerOption(true, 0);
                socket.Dispose();
            }
        }
        catch (OperationCanceledException)
        {
            return null;
        }
        catch (SocketException e)
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
            int attempt = ++_tally.Attempts;
            Socket? socket = null;
            TimeSpan pause;
            try
            {
                socket = LocalPort.NewSocket(port.EndPoint);
                await socket.ConnectAsync(peer, stop).ConfigureAwait(false);
                return socket;
            }
            catch (OperationCanceledException)
            {
                _tally.Unanswered++;
                socket?.Dispose();
                return null;
            }
            catch (SocketException e)
            {
                socket?.Dispose();
                pause = Outcome(attempt, e);
            }
            ReportProgress();
            if (pause > TimeSpan.Zero)
            {
                try
                {
                    await Task.Delay(pause, stop).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return null;
                }
            }
        }
        return null;
    }

    /// <summary>Counts a failed attempt; returns how long to wait before the next.</summary>
    private TimeSpan Outcome(int attempt, SocketException e)
    {
        switch (e.SocketErrorCode)
        {
            case SocketError.ConnectionRefused:
                if (_tally.Refused++ == 0)
                {
                    log.Info("reset by the peer's side: its SYN is not out yet or its NAT resets unsolicited SYNs; retrying until our SYNs cross");
                }
                log.Detail($"attempt {attempt}: refused");
                // At once: the reset's round trip already paces us, and the sooner the next SYN
                // is out, the sooner two SYNs cross. Scheduling noise keeps the sides out of step.
                return TimeSpan.Zero;
            case SocketError.AddressNotAvailable:
                // The 4-tuple is taken: the listener has just accepted the peer's own SYN.
                log.Detail($"attempt {attempt}: the connection already exists");
                return TimeSpan.FromMilliseconds(50);
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
