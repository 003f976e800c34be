using System.Net;
using System.Net.Sockets;
using Punchhole.Client.Rendezvous;
using Punchhole.Protocol;

namespace Punchhole.Client.Punch;

/// <summary>The connection a <see cref="CandidateRace"/> chose: its socket, the address it reached the peer at, and whether that is one of the peer's local addresses.</summary>
internal sealed record RacedPath(Socket Socket, IPEndPoint Remote, bool Candidate);

/// <summary>
/// The direct connection for two secure T-STUN/2 clients that both received the other's local
/// addresses: the public punch (<see cref="HolePuncher"/>, as a black box) and a TCP open from the
/// same local port to each of the peer's local addresses run at once, and the peer's own attempts
/// are accepted on that port. Two peers behind one NAT that does not hairpin meet over their LAN.
/// <para>
/// Several connections may come up, so the two sides agree on one (docs/PROTOCOL.md, "Choosing one
/// connection"): the side the server saw at the greater address and port is the controlling one;
/// it checks every connection that comes up (<see cref="PathCheck"/>), nominates the first whose
/// check the peer answered, and both close the rest. The controlled side sends nothing on a
/// connection before a valid check arrived on it. The secure handshake then runs on the one
/// nominated connection and proves the peer; a host that is not the peer never answers a check,
/// and one that did would still fail the handshake.
/// </para>
/// </summary>
internal sealed class CandidateRace
{
    /// <summary>How long the controlling side waits for the answer to its check on one connection.</summary>
    private static readonly TimeSpan AnswerWait = TimeSpan.FromSeconds(2);

    /// <summary>Pauses between TCP opens to one local address after a reset or an error: from this, doubling...</summary>
    private static readonly TimeSpan FirstRetry = TimeSpan.FromMilliseconds(50);

    /// <summary>... up to this: a LAN answers at once, and a host that resets is not to be flooded.</summary>
    private static readonly TimeSpan LongestRetry = TimeSpan.FromMilliseconds(500);

    private readonly LocalPort _port;
    private readonly IPEndPoint _peer;
    private readonly IReadOnlyList<IPEndPoint> _candidates;
    private readonly PathCheck _check;
    private readonly bool _controlling;
    private readonly ClientOptions _options;
    private readonly ClientLog _log;

    /// <summary>Ends every attempt and check: a connection was chosen, or the race ran out of time.</summary>
    private readonly CancellationTokenSource _stop = new();

    /// <summary>Ends the attempts to connect (not the checks of connections already up) at the punch timeout.</summary>
    private readonly CancellationTokenSource _attempts;

    private readonly TaskCompletionSource<RacedPath> _won = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<Socket> _open = [];
    private TimeSpan _started;
    private ClientFailure? _publicFailure;
    private int _running;
    private int _chosen;

    private CandidateRace(LocalPort port, RendezvousAnswer answer, SessionKey key, ClientOptions options, ClientLog log)
    {
        _port = port;
        _peer = answer.Peer;
        // The public address is the punch's: a candidate equal to it is not tried twice.
        _candidates = [.. answer.Candidates.Where(c => !c.Equals(answer.Peer)).Distinct()];
        _check = new PathCheck(key);
        _controlling = Controls(answer.Seen!.Value);
        _options = options;
        _log = log;
        _attempts = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
    }

    /// <summary>
    /// Whether two sides with these answers race (both decide alike from what both received): both
    /// spoke T-STUN/2, both sent local addresses and received the other's, and the server saw them at
    /// different addresses. Anything else punches the public address alone, as before.
    /// </summary>
    public static bool Applies(RendezvousAnswer? answer) =>
        answer is { Server: ServerKind.Version2, Seen: { } seen, CandidatesSent: > 0, CandidatesReceived: > 0 }
        && Compare(seen.Self, seen.Peer) != 0;

    /// <summary>Races the paths; the chosen one, or the public punch's <see cref="ClientFailure"/> when none came up.</summary>
    public static Task<RacedPath> RunAsync(LocalPort port, RendezvousAnswer answer, SessionKey key, ClientOptions options, ClientLog log) =>
        new CandidateRace(port, answer, key, options, log).RunAsync();

    private async Task<RacedPath> RunAsync()
    {
        _started = _log.Elapsed;
        _log.Info(_candidates.Count == 0
            ? "the peer's local addresses are of the other address family: punching its public address alone"
            : $"also trying the peer's local address{(_candidates.Count == 1 ? "" : "es")} {string.Join(", ", _candidates)}");
        _log.Detail($"this side {(_controlling ? "chooses" : "waits for the peer to choose")} the connection");
        _attempts.CancelAfter(_options.PunchTimeout);
        _stop.CancelAfter(_options.PunchTimeout + AnswerWait);
        _port.Divert(TakeInbound);
        _running = 1;
        Run(PunchPublicAsync);
        foreach (var candidate in _candidates)
        {
            Run(() => ConnectAsync(candidate));
        }
        Done();

        await Task.WhenAny(_won.Task, _ended.Task).ConfigureAwait(false);
        await _stop.CancelAsync().ConfigureAwait(false);
        await _ended.Task.ConfigureAwait(false);
        _port.Divert(null);
        var chosen = _won.Task.IsCompletedSuccessfully ? await _won.Task.ConfigureAwait(false) : null;
        lock (_open)
        {
            foreach (var socket in _open.Where(s => s != chosen?.Socket))
            {
                Abort(socket);
            }
            _open.Clear();
        }
        _stop.Dispose();
        _attempts.Dispose();
        if (chosen is not null)
        {
            return chosen;
        }
        string tried = _candidates.Count == 0 ? "" : $"; the peer's local address{(_candidates.Count == 1 ? "" : "es")} did not answer either";
        throw _publicFailure is { } failure
            ? new ClientFailure(failure.Message + tried, failure)
            : new ClientFailure($"no connection to the peer was confirmed within {_options.PunchTimeout.TotalSeconds:0.#} s{tried}");
    }

    /// <summary>The public punch; the connection it makes is checked like any other.</summary>
    private async Task PunchPublicAsync()
    {
        try
        {
            var socket = await new HolePuncher(_port, _peer, _options, _log).PunchAsync(_attempts.Token).ConfigureAwait(false);
            Run(() => CheckAsync(socket, _peer, candidate: false));
        }
        catch (ClientFailure failure)
        {
            _publicFailure = failure;
        }
        // The punch accepted on the port until now: the peer's attempts to our local addresses
        // still need taking (its SYN may complete in the kernel's queue with nobody to accept it).
        await AcceptRestAsync().ConfigureAwait(false);
    }

    private async Task AcceptRestAsync()
    {
        try
        {
            while (true)
            {
                // What is not diverted is not from the peer's local addresses: a stranger, or a late
                // second connection from the public address, and there is one already or none wanted.
                Abort(await _port.AcceptAsync(_attempts.Token).ConfigureAwait(false));
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // Out of time or chosen.
        }
    }

    /// <summary>A connection to our port from one of the peer's local addresses: the peer's own attempt, taken here.</summary>
    private bool TakeInbound(Socket socket)
    {
        if (socket.RemoteEndPoint is not IPEndPoint remote || !_candidates.Contains(remote))
        {
            return false;
        }
        _log.Detail($"the peer's local address {remote} connected to this side");
        Run(() => CheckAsync(socket, remote, candidate: true));
        return true;
    }

    /// <summary>TCP opens from the punch port to one local address of the peer, until one connects or time is up.</summary>
    private async Task ConnectAsync(IPEndPoint candidate)
    {
        var pause = FirstRetry;
        for (int attempt = 1; !_attempts.IsCancellationRequested; attempt++)
        {
            Socket socket;
            try
            {
                socket = LocalPort.NewSocket(_port.EndPoint);
            }
            catch (SocketException e)
            {
                _log.Detail($"cannot open a socket for {candidate}: {ErrorText.Of(e)}");
                return;
            }
            try
            {
                await socket.ConnectAsync(candidate, _attempts.Token).ConfigureAwait(false);
                Run(() => CheckAsync(socket, candidate, candidate: true));
                return;
            }
            catch (OperationCanceledException)
            {
                socket.Dispose();
                return;
            }
            catch (SocketException e)
            {
                socket.Dispose();
                if (e.SocketErrorCode == SocketError.AddressNotAvailable)
                {
                    // The 4-tuple exists: the peer's own attempt to this port made it, and it is checked.
                    _log.Detail($"{candidate}: the connection exists already");
                    return;
                }
                _log.Detail($"{candidate}: attempt {attempt}: {ErrorText.Of(e)}");
            }
            try
            {
                await Task.Delay(pause + TimeSpan.FromMilliseconds(Random.Shared.Next(0, 20)), _attempts.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            pause = pause * 2 < LongestRetry ? pause * 2 : LongestRetry;
        }
    }

    /// <summary>The agreement on one connection that came up; the nominated one wins the race.</summary>
    private async Task CheckAsync(Socket socket, IPEndPoint remote, bool candidate)
    {
        lock (_open)
        {
            if (_stop.IsCancellationRequested)
            {
                Abort(socket);
                return;
            }
            _open.Add(socket);
        }
        var received = new byte[PathCheck.CheckLength];
        try
        {
            if (_controlling)
            {
                using var wait = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                wait.CancelAfter(AnswerWait);
                await socket.SendAsync(_check.Check, SocketFlags.None, wait.Token).ConfigureAwait(false);
                if (!await ReceiveExactlyAsync(socket, received, wait.Token).ConfigureAwait(false) || !_check.IsAnswer(received))
                {
                    _log.Detail($"{remote} did not answer the check: not the peer");
                    Abort(socket);
                    return;
                }
                if (Interlocked.Exchange(ref _chosen, 1) == 0)
                {
                    try
                    {
                        await socket.SendAsync(PathCheck.Nominate, SocketFlags.None, wait.Token).ConfigureAwait(false);
                    }
                    catch (SocketException)
                    {
                        // This one died at the last moment: the next connection to answer is chosen instead.
                        Volatile.Write(ref _chosen, 0);
                        throw;
                    }
                    Win(socket, remote, candidate);
                }
                return;
            }
            if (!await ReceiveExactlyAsync(socket, received, _stop.Token).ConfigureAwait(false) || !_check.IsCheck(received))
            {
                _log.Detail($"{remote} did not send the peer's check: not the peer");
                Abort(socket);
                return;
            }
            await socket.SendAsync(_check.Answer, SocketFlags.None, _stop.Token).ConfigureAwait(false);
            var nomination = received.AsMemory(0, PathCheck.NominateLength);
            if (await ReceiveExactlyAsync(socket, nomination, _stop.Token).ConfigureAwait(false)
                && PathCheck.IsNominate(nomination.Span)
                && Interlocked.Exchange(ref _chosen, 1) == 0)
            {
                Win(socket, remote, candidate);
            }
        }
        catch (OperationCanceledException)
        {
            // Another connection was chosen, or time is up: closed with the rest.
        }
        catch (SocketException e)
        {
            // The peer closed it (it chose another), or it failed.
            _log.Detail($"the connection with {remote} ended during the check: {ErrorText.Of(e)}");
        }
    }

    private void Win(Socket socket, IPEndPoint remote, bool candidate)
    {
        DeadPathBound.Apply(socket);
        if (candidate)
        {
            _log.Info($"connected to {remote}, the peer's local address, after {(_log.Elapsed - _started).TotalSeconds:0.00} s");
        }
        _won.TrySetResult(new RacedPath(socket, remote, candidate));
    }

    /// <summary>Runs <paramref name="work"/> as one of the race's tasks: the race has ended when none runs.</summary>
    private void Run(Func<Task> work)
    {
        Interlocked.Increment(ref _running);
        _ = RunCountedAsync(work);
    }

    private async Task RunCountedAsync(Func<Task> work)
    {
        try
        {
            await work().ConfigureAwait(false);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException)
        {
            _log.Detail($"a path to the peer failed: {ErrorText.Of(e)}");
        }
        finally
        {
            Done();
        }
    }

    private void Done()
    {
        if (Interlocked.Decrement(ref _running) == 0)
        {
            _ended.TrySetResult();
        }
    }

    /// <summary>Exactly buffer.Length bytes; false when the connection ends first.</summary>
    private static async Task<bool> ReceiveExactlyAsync(Socket socket, Memory<byte> buffer, CancellationToken cancel)
    {
        int have = 0;
        while (have < buffer.Length)
        {
            int n = await socket.ReceiveAsync(buffer[have..], SocketFlags.None, cancel).ConfigureAwait(false);
            if (n == 0)
            {
                return false;
            }
            have += n;
        }
        return true;
    }

    /// <summary>A connection not chosen ends with a reset: nothing was sent on it but the check.</summary>
    private static void Abort(Socket socket)
    {
        try
        {
            socket.LingerState = new LingerOption(true, 0);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Reset or closed already.
        }
        socket.Dispose();
    }

    /// <summary>The side the server saw at the greater address (then port) controls; both sides compute the same.</summary>
    private static bool Controls((PeerAddress Self, PeerAddress Peer) seen) => Compare(seen.Self, seen.Peer) > 0;

    private static int Compare(PeerAddress a, PeerAddress b)
    {
        int byAddress = Canonical(a).AsSpan().SequenceCompareTo(Canonical(b));
        return byAddress != 0 ? byAddress : a.Port.CompareTo(b.Port);
    }

    private static byte[] Canonical(PeerAddress address)
    {
        var ip = address.ToIPAddress();
        return (ip.AddressFamily == AddressFamily.InterNetwork ? ip.MapToIPv6() : ip).GetAddressBytes();
    }
}
