using System.Net;
using System.Net.Sockets;

namespace Punchhole.Client;

/// <summary>
/// The TCP simultaneous open (RFC 793 fig. 8), made to survive real NATs.
/// <list type="bullet">
/// <item>The local port also listens, so a peer SYN that arrives while we have no SYN of our own
/// in flight is accepted instead of reset by our kernel. One 4-tuple means one connection either way.</item>
/// <item>Each round starts with a primer SYN of low TTL: it opens our NAT's mapping but expires
/// before the peer's NAT, which would otherwise answer it with a reset (RFC 5382 allows either).</item>
/// <item>Then full-TTL connects from the same port, retried at short jittered intervals, each
/// reset or silence counted, until the deadline; a diagnosis when it passes.</item>
/// </list>
/// </summary>
internal sealed class HolePuncher(LocalPort port, IPEndPoint peer, ClientOptions options, ClientLog log)
{
    /// <summary>How long a primer is given before the full-TTL connect follows it.</summary>
    private static readonly TimeSpan PrimerLead = TimeSpan.FromMilliseconds(250);

    private readonly PunchTally _tally = new();

    /// <summary>The connected socket, or a <see cref="ClientFailure"/> with the diagnosis.</summary>
    public async Task<Socket> PunchAsync()
    {
        var started = log.Elapsed;
        log.Info($"punching {peer} from {port.EndPoint} (up to {options.PunchTimeout.TotalSeconds:0.#} s)");
        using var done = new CancellationTokenSource(options.PunchTimeout);
        var accepted = AcceptPeerAsync(done.Token);
        var connected = ConnectLoopAsync(done.Token);
        var first = await Task.WhenAny(accepted, connected).ConfigureAwait(false);
        Socket? socket = await first.ConfigureAwait(false);
        await done.CancelAsync().ConfigureAwait(false);
        var other = first == accepted ? connected : accepted;
        // One 4-tuple cannot be connected twice, but dispose whatever the loser produced.
        (await other.ConfigureAwait(false))?.Dispose();
        if (socket is null)
        {
            throw new ClientFailure(_tally.Diagnose(log.Elapsed - started));
        }
        log.Info($"connected to {peer} {(first == accepted ? "(the peer's SYN reached us)" : "(our SYN reached the peer)")} after {(log.Elapsed - started).TotalSeconds:0.00} s");
        return socket;
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
            log.Detail($"cannot accept on {port.EndPoint}: {e.Message}");
            await Task.Delay(Timeout.Infinite, stop).ContinueWith(_ => { }, TaskScheduler.Default).ConfigureAwait(false);
            return null;
        }
    }

    private async Task<Socket?> ConnectLoopAsync(CancellationToken stop)
    {
        bool primed = options.SynTtl == 0;
        try
        {
            while (!stop.IsCancellationRequested)
            {
                Socket? socket = primed ? await FullAttemptAsync(stop).ConfigureAwait(false) : await PrimerAsync(stop).ConfigureAwait(false);
                if (socket is not null)
                {
                    return socket;
                }
                primed = !primed || options.SynTtl == 0;
            }
        }
        catch (OperationCanceledException)
        {
        }
        return null;
    }

    /// <summary>A low-TTL SYN to open our own mapping; a connection if the peer is that close.</summary>
    private async Task<Socket?> PrimerAsync(CancellationToken stop)
    {
        var socket = LocalPort.NewSocket(port.EndPoint);
        short fullTtl = socket.Ttl;
        socket.Ttl = (short)options.SynTtl;
        using var lead = CancellationTokenSource.CreateLinkedTokenSource(stop);
        var leadTime = Task.Delay(PrimerLead, stop);
        try
        {
            lead.CancelAfter(PrimerLead);
            await socket.ConnectAsync(peer, lead.Token).ConfigureAwait(false);
            socket.Ttl = fullTtl;
            _tally.Attempts++;
            return socket;
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            // Expected: the primer expires on the way (ICMP time exceeded) or is abandoned.
            log.Detail($"primer SYN (TTL {options.SynTtl}) sent: {(e is SocketException s ? s.SocketErrorCode.ToString() : "no answer")}");
            socket.Dispose();
        }
        await leadTime.ConfigureAwait(false);
        return null;
    }

    private async Task<Socket?> FullAttemptAsync(CancellationToken stop)
    {
        int attempt = ++_tally.Attempts;
        var socket = LocalPort.NewSocket(port.EndPoint);
        // Long enough for the kernel's own SYN retransmission at 1 s; jittered so two peers drift.
        var lifetime = TimeSpan.FromMilliseconds(Random.Shared.Next(1800, 2600));
        using var attemptEnd = CancellationTokenSource.CreateLinkedTokenSource(stop);
        attemptEnd.CancelAfter(lifetime);
        try
        {
            await socket.ConnectAsync(peer, attemptEnd.Token).ConfigureAwait(false);
            return socket;
        }
        catch (OperationCanceledException) when (!stop.IsCancellationRequested)
        {
            _tally.Unanswered++;
            log.Info($"attempt {attempt}: no answer from {peer} in {lifetime.TotalSeconds:0.0} s; trying again");
            socket.Dispose();
            return null;
        }
        catch (SocketException e)
        {
            socket.Dispose();
            var pause = TimeSpan.FromMilliseconds(Random.Shared.Next(50, 200));
            if (e.SocketErrorCode == SocketError.ConnectionRefused)
            {
                _tally.Refused++;
                log.Info($"attempt {attempt}: reset by the peer's side (its SYN may not be out yet); trying again");
            }
            else
            {
                _tally.Unreachable++;
                log.Info($"attempt {attempt}: {e.Message}; trying again");
                pause = TimeSpan.FromMilliseconds(Random.Shared.Next(200, 400));
            }
            await Task.Delay(pause, stop).ConfigureAwait(false);
            return null;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
