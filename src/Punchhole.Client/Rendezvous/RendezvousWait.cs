using System.Net;
using System.Net.Sockets;
using Punchhole.Client.Progress;
using Punchhole.Protocol;
using Punchhole.Protocol.V2;

namespace Punchhole.Client.Rendezvous;

/// <summary>
/// Waits at the T-STUN server for the peer for as long as --wait-timeout says, whatever the
/// server's own limit: each time the server ends a wait without a reply, it registers again from
/// the same local port, so the address the peer will be given stays the one the punch uses.
/// Shows the time left. A v2 key speaks T-STUN/2 where the server does (<paramref name="flags"/> are
/// what it asks for), and says so where the server does not.
/// </summary>
internal sealed class RendezvousWait(IPEndPoint server, IPEndPoint local, SessionKey key, ClientOptions options, ClientLog log, ClientFlags flags = ClientFlags.None)
{
    /// <summary>A wait the server ends sooner than this was a refusal (a limit), not its timeout.</summary>
    private static readonly TimeSpan QuickClose = TimeSpan.FromSeconds(1);

    /// <summary>The longest pause before asking again a server that keeps refusing at once.</summary>
    private static readonly TimeSpan LongestPause = TimeSpan.FromSeconds(30);

    /// <summary>Without a live line, how often the time left is reported.</summary>
    private static readonly TimeSpan ReportEvery = TimeSpan.FromMinutes(1);

    private readonly TimeSpan _deadline = log.Elapsed + options.WaitTimeout;
    private int _waits;
    private int _refusals;

    /// <summary>All the server said, once <see cref="FindPeerAsync"/> has returned.</summary>
    public RendezvousAnswer? Answer { get; private set; }

    /// <summary>The peer's observed address; <see cref="Answer"/> has the rest.</summary>
    public async Task<IPEndPoint> FindPeerAsync()
    {
        using var deadline = new CancellationTokenSource(options.WaitTimeout);
        using var countdown = new CancellationTokenSource();
        var counting = CountDownAsync(countdown.Token);
        RendezvousAnswer answer;
        try
        {
            answer = await AskUntilPairedAsync(deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            throw new ClientFailure(NoPeer());
        }
        finally
        {
            await countdown.CancelAsync().ConfigureAwait(false);
            await counting.ConfigureAwait(false);
            log.Status(null);
        }
        Answer = answer;
        Describe(answer);
        return answer.Peer;
    }

    private void Describe(RendezvousAnswer answer)
    {
        if (RendezvousKeys.Classify(KeyBytes()) != KeyForm.Version2)
        {
            return;
        }
        if (answer.Server == ServerKind.Version1)
        {
            log.Info("the T-STUN server speaks only the original protocol: it offers no candidates or relay");
            return;
        }
        log.Detail($"the T-STUN server sees this side at {answer.Observed?.ToString() ?? "an address of the other family"}"
            + $"; the peer offers {answer.Candidates.Count} local address(es)"
            + (answer.RelayOffered ? answer.Token.IsEmpty ? "; the server relays, but not for this pair" : "; the server offers its relay" : "; the server does not relay"));
    }

    private byte[] KeyBytes()
    {
        var bytes = new byte[SessionKey.Length];
        key.CopyTo(bytes);
        return bytes;
    }

    private TimeSpan Left => _deadline - log.Elapsed;

    private async Task<RendezvousAnswer> AskUntilPairedAsync(CancellationToken deadline)
    {
        var pause = TimeSpan.FromSeconds(1);
        for (int attempt = 1; ; attempt++)
        {
            var asked = log.Elapsed;
            RendezvousAnswer? answer;
            try
            {
                answer = await Registration.AskAsync(server, local, key, () => Connected(attempt), deadline, flags).ConfigureAwait(false);
            }
            catch (SocketException e) when (attempt > 1 && e.SocketErrorCode is SocketError.AddressNotAvailable or SocketError.AddressAlreadyInUse)
            {
                // The previous connection's 4-tuple is not free yet: it will be in a moment.
                log.Detail($"cannot ask again from {local} yet ({ErrorText.Of(e)}); retrying");
                await Task.Delay(TimeSpan.FromSeconds(1), deadline).ConfigureAwait(false);
                continue;
            }
            catch (SocketException e)
            {
                throw new ClientFailure($"cannot reach the T-STUN server {server}: {ErrorText.Of(e)}");
            }
            if (answer is not null)
            {
                return answer;
            }
            var lasted = log.Elapsed - asked;
            if (lasted >= QuickClose)
            {
                _waits++;
                pause = TimeSpan.FromSeconds(1);
                log.Detail($"the T-STUN server ended the wait after {Figures.Span(lasted)} without a peer; asking again from the same port ({Figures.Clock(Left)} left)");
                continue;
            }
            if (_refusals++ == 0)
            {
                log.Info("the T-STUN server closed the connection at once without a reply (it may be at one of its limits); asking again");
            }
            log.Detail($"asking again in {Figures.Span(pause)}");
            await Task.Delay(pause, deadline).ConfigureAwait(false);
            pause = pause * 2 < LongestPause ? pause * 2 : LongestPause;
        }
    }

    private void Connected(int attempt)
    {
        if (attempt == 1)
        {
            log.Info($"asked the T-STUN server {server} from {local}; waiting for the peer (up to {Figures.Span(options.WaitTimeout)})");
        }
        else
        {
            log.Detail($"asked the T-STUN server again from {local}");
        }
    }

    /// <summary>The live line with the time left, or a line now and then when stderr is not a terminal.</summary>
    private async Task CountDownAsync(CancellationToken stop)
    {
        var nextReport = log.Elapsed + ReportEvery;
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        try
        {
            while (await timer.WaitForNextTickAsync(stop).ConfigureAwait(false))
            {
                if (log.Live)
                {
                    log.Status($"waiting for the peer with the same KEY: {Figures.Clock(Left)} left");
                }
                else if (log.Elapsed >= nextReport && Left > TimeSpan.Zero)
                {
                    nextReport += ReportEvery;
                    log.Info($"still waiting for the peer: {Figures.Clock(Left)} left");
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Paired, failed or out of time.
        }
    }

    private string NoPeer()
    {
        string advice = _refusals > 0 && _waits == 0
            ? "; the T-STUN server closed every request at once without a reply: it may be at one of its limits, or not a T-STUN server"
            : options.Plain
                ? "; start the other side with the same KEY and server, or allow longer with --wait-timeout"
                : "; start the other side with the same KEY and server, or allow longer with --wait-timeout; if it runs the original punchhole or --plain, use --plain here too";
        return $"no peer with the same KEY reached the T-STUN server within {Figures.Span(options.WaitTimeout)}{advice}";
    }
}
