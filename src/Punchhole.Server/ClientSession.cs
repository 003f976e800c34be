using System.Diagnostics;
using System.Net.Sockets;
using Microsoft.Extensions.ObjectPool;
using Punchhole.Protocol;
using Punchhole.Protocol.V2;
using Punchhole.Server.Cluster;

namespace Punchhole.Server;

/// <summary>
/// One client connection, from accept to close: read the 32-byte key, pair or wait, send the
/// partner's address, close (which sends the FIN). An arrival that claims a waiter sends the
/// waiter its reply first and waits for the waiter's TCP to acknowledge it before it takes its
/// own, so a waiter whose process died is never handed out. Pooled. The common case (the key is
/// already in, the reply fits in the send buffer, the waiter's ACK is in when its send returns) is
/// one non-blocking recv and one send per client and one ioctl per pair, with no event args at
/// all. Only a read or write that would block borrows pooled event args, and completions that
/// finish synchronously are looped over on the same thread, never recursed. The phases, and who
/// moves them, are listed on <see cref="RendezvousParty"/>. A key of another form than v1 leads to
/// T-STUN/2's exchange (ClientSession.Version2.cs) or to a relay leg (ClientSession.RelayLeg.cs).
/// </summary>
internal sealed partial class ClientSession : RendezvousParty
{
    private readonly RendezvousServer _server;
    private SessionIo? _io;
    private ObjectPool<SessionIo>? _ioPool;
    private Socket? _socket;
    private int _received;

    // What the verbose log says of a connection whose last write finishes asynchronously.
    private string? _done;

    // The waiter this arrival claimed, while the confirmation poll waits for its acknowledgement.
    private ClientSession? _claimed;

    // This connection is in the disconnect watcher's set: it leaves it before it closes.
    private bool _watched;

    public ClientSession(RendezvousServer server, int id)
    {
        _server = server;
        Id = id;
    }

    /// <summary>This session's slot in the pool, for tokens that must survive recycling.</summary>
    public int Id { get; }

    /// <summary>The socket of the current connection (null between connections).</summary>
    public Socket? Socket => Volatile.Read(ref _socket);

    /// <summary>Identifies this incarnation to the disconnect watcher: slot and generation.</summary>
    public ulong Token => ((ulong)(Word >> 32) << 32) | (uint)Id;

    /// <summary>When the connection was accepted, as a <see cref="Stopwatch"/> timestamp; read only with --metrics.</summary>
    public long ArrivedAt { get; private set; }

    /// <summary>This connection counts against --max-per-ip (its address was admitted).</summary>
    internal bool HoldsAddressSlot { get; set; }

    /// <summary>This connection waits and counts against its source's share of the waiting table.</summary>
    internal bool HoldsShare { get; set; }

    public void Start(Socket socket, in PeerAddress address, long now)
    {
        Volatile.Write(ref _socket, socket);
        Address = address;
        _received = 0;
        // With --proxy-protocol, the header and the key share this one deadline.
        Deadline = now + (long)_server.Options.KeyTimeout.TotalMilliseconds;
        if (_server.Metrics is not null)
        {
            ArrivedAt = Stopwatch.GetTimestamp();
        }
        Begin(PartyPhase.ReadingKey);
        if (_server.Proxy is { } proxy)
        {
            // The pre-key phase: the PROXY header names the client, then OnProxyHeader reads the key.
            proxy.ReadHeader(this, socket);
            return;
        }
        ReadKey(socket);
    }

    /// <summary>
    /// The PROXY header is in (or the connection ended before it was): a header that names a TCP
    /// client makes that client this connection's address, for its partner's reply, the per-address
    /// limits and the log; anything else ends the connection with no reply.
    /// </summary>
    internal void OnProxyHeader(ProxyHeaderStatus status, in PeerAddress client, string? why)
    {
        switch (status)
        {
            case ProxyHeaderStatus.Proxied when client.Port != 0:
                Address = client;
                if (!_server.TryAdmit(this))
                {
                    EndBeforeKey(ref _server.Counters.RejectedPerIp, "rejected: too many connections from its address");
                    return;
                }
                ReadKey(_socket!);
                return;
            case ProxyHeaderStatus.Local or ProxyHeaderStatus.Unknown:
                // The proxy's own connection (a health check), or one it cannot name the client of:
                // a reply would send a partner towards the proxy, so it is never paired.
                EndBeforeKey(ref _server.Counters.HealthChecks, "a connection of the proxy's own (no client address)");
                return;
            default:
                EndBeforeKey(ref _server.Counters.ProxyRejected, why ?? "a PROXY header with source port 0");
                return;
        }
    }

    /// <summary>Ends the connection before its key, with no reply; counted unless the heartbeat or Stop ended the key read first.</summary>
    private void EndBeforeKey(ref long counter, string why)
    {
        if (TryMove(PartyPhase.ReadingKey, PartyPhase.KeyAborted))
        {
            ServerCounters.Add(ref counter);
            Close(why);
            return;
        }
        Close("key timeout");
    }

    private void ReadKey(Socket socket)
    {
        Span<byte> key = stackalloc byte[TStun.KeyLength];
        var error = NonBlockingIo.Receive(socket, key, out int n);
        if (error == SocketError.Success && n == TStun.KeyLength)
        {
            OnKey(key);
        }
        else if (error == SocketError.WouldBlock || (error == SocketError.Success && n > 0))
        {
            // The rest of the key is still on its way: wait for it with event args.
            RentIo(_server.IoPool);
            key[..n].CopyTo(_io!.Bytes);
            _received = n;
            Receive();
        }
        else
        {
            OnKeyFailed();
        }
    }

    /// <summary>
    /// Reads what the client still owes, with event args, looping over reads that complete at once:
    /// its key, or (a v2 client, whose offer exists from its key on) its <c>CAND</c> line.
    /// </summary>
    private void Receive()
    {
        while (true)
        {
            bool line = _offer is not null;
            if (line)
            {
                _io!.SetBuffer(_offer!.Received, TStun2.MaxCandidateLineLength - _offer.Received);
            }
            else
            {
                _io!.SetBuffer(_received, TStun.KeyLength - _received);
            }
            bool pending;
            try
            {
                pending = _socket!.ReceiveAsync(_io);
            }
            catch (ObjectDisposedException)
            {
                Close(line ? "aborted while reading its candidates" : "aborted while reading its key");
                return;
            }
            if (pending || !(line ? OnLineBytes() : OnKeyBytes()))
            {
                return;
            }
        }
    }

    /// <summary>Takes in a completed read; true when more key bytes are still to come.</summary>
    private bool OnKeyBytes()
    {
        int n = _io!.BytesTransferred;
        if (_io.SocketError != SocketError.Success || n == 0)
        {
            OnKeyFailed();
            return false;
        }
        _received += n;
        if (_received < TStun.KeyLength)
        {
            return true;
        }
        OnKey(_io.Bytes[..TStun.KeyLength]);
        return false;
    }

    /// <summary>EOF or a reset before 32 bytes, or the heartbeat aborted the read: no reply.</summary>
    private void OnKeyFailed()
    {
        // If the heartbeat aborted the read, it has counted it already.
        if (TryMove(PartyPhase.ReadingKey, PartyPhase.KeyAborted))
        {
            ServerCounters.Add(ref _server.Counters.BadKeys);
        }
        Close(_received == 0 ? "no key" : "short key");
    }

    private void OnKey(ReadOnlySpan<byte> key)
    {
        var form = RendezvousKeys.Classify(key);
        if (form == KeyForm.Version2)
        {
            // Its CAND line gets a key timeout of its own; set before the phase that the heartbeat checks it in.
            Deadline = Environment.TickCount64 + (long)_server.Options.KeyTimeout.TotalMilliseconds;
        }
        if (!TryMove(PartyPhase.ReadingKey, form == KeyForm.Version2 ? PartyPhase.ReadingLine : PartyPhase.Pairing))
        {
            Close("key timeout");
            return;
        }
        Key = SessionKey.Read(key);
        _server.Metrics?.KeyRead.ObserveSince(ArrivedAt);
        if (form != KeyForm.Version1)
        {
            bool isLeg = RelayToken.TryReadLegKey(key, out var token);
            ReturnIo();
            if (form == KeyForm.Version2)
            {
                StartVersion2();
            }
            else
            {
                StartRelayLeg(isLeg, token);
            }
            return;
        }
        StopReadingAndPair();
    }

    /// <summary>
    /// Nothing after the key (v1) or the <c>CAND</c> line (v2) is read, as nothing after the key is
    /// in the original: the receiving side is shut down, and the client pairs.
    /// </summary>
    private void StopReadingAndPair()
    {
        ReturnIo();
        try
        {
            _socket!.Shutdown(SocketShutdown.Receive);
        }
        catch (SocketException)
        {
            // A reset here surfaces when the reply is sent.
        }
        Pair();
    }

    private void Pair()
    {
        while (true)
        {
            Deadline = Environment.TickCount64 + (long)_server.Options.WaitTimeout.TotalMilliseconds;
            switch (_server.Table.PairOrWait(this, out var found, exclusive: _offer?.Exclusive ?? false))
            {
                case PairingResult.Paired:
                    // A waiter's process may have died after its key (its kernel sent only a FIN), so
                    // the waiter gets its reply first, and this arrival gets its own only once the
                    // waiter's TCP has acknowledged it. A dead waiter's kernel answers with a reset.
                    var waiter = (ClientSession)found!;
                    ReserveRelay(waiter);
                    switch (waiter.DeliverReply(this))
                    {
                        case Delivery.Acknowledged:
                            CompletePair(waiter);
                            return;
                        case Delivery.Unacknowledged:
                            AwaitAcknowledgement(waiter);
                            return;
                        default:
                            GiveUpOn(waiter);
                            // Wait, or pair with another waiter that has the same key.
                            continue;
                    }
                case PairingResult.Waiting:
                    if (!_server.TryTakeShare(this))
                    {
                        // Its source has its share of the table waiting already: out again, with
                        // no reply, unless an arrival claimed it meanwhile (then it pairs as usual).
                        TryEndWait(Word, _server.Table, WaitEnd.OverShare, ref _server.Counters.RejectedPerSource);
                        AwaitPartner();
                        return;
                    }
                    // An arrival may have claimed this party already, even before the table
                    // returned (while it was Joining): its claimer then owns it and is sending it
                    // its reply, and the outcome waits in the completion until AwaitPartner.
                    _watched = true;
                    _server.Watcher.Watch(_socket!, Token);
                    // Stop ends the waits it finds as it scans; a wait that begins meanwhile ends
                    // here. The fence keeps the read of the flag after the write of the phase.
                    Interlocked.MemoryBarrier();
                    if (_server.IsStopping)
                    {
                        long uncounted = 0;
                        TryEndWait(Word, _server.Table, WaitEnd.ShuttingDown, ref uncounted);
                    }
                    _server.Cluster?.Offer(this);
                    AwaitPartner();
                    return;
                case PairingResult.Collision:
                    ServerCounters.Add(ref _server.Counters.Collisions);
                    SendReply(Collision.Line, "collision: a client with the same key is waiting");
                    return;
                default:
                    ServerCounters.Add(ref _server.Counters.RejectedWaiting);
                    Close("rejected: too many clients waiting");
                    return;
            }
        }
    }

    /// <summary>
    /// Called on a waiter by the arrival that claimed it: sends the waiter its reply (about the
    /// arrival) and asks at once whether the waiter's TCP has acknowledged it. On a LAN the answer
    /// (an ACK, or a dead waiter's reset) is usually in before the send returns.
    /// </summary>
    private Delivery DeliverReply(ClientSession arrival)
    {
        Span<byte> reply = stackalloc byte[ReplyRoom];
        return Deliver(reply[..FormatReply(arrival, reply)]);
    }

    /// <summary>
    /// The same for a partner on another instance (tstun --redis): a T-STUN/2 client's line carries
    /// what that instance passed on in <paramref name="partnerOffer"/> (the partner's candidates),
    /// and <paramref name="token"/> for the relay at <paramref name="relayAt"/> when one was reserved.
    /// </summary>
    internal Delivery DeliverReply(in PeerAddress partner, in RemoteOffer partnerOffer, in RelayToken token, in PeerAddress relayAt)
    {
        Span<byte> reply = stackalloc byte[ReplyRoom];
        int length = _offer is null
            ? PeerReply.Format(partner, reply)
            : PeerLine.Format(partner, token, relayAt, partnerOffer.CandidateSpan, reply);
        return Deliver(reply[..length]);
    }

    private Delivery Deliver(ReadOnlySpan<byte> reply)
    {
        var error = NonBlockingIo.Send(_socket!, reply, out int sent);
        // Anything but the whole reply at once: reset already, or no room for 52 bytes in an empty
        // send buffer (the host is out of TCP memory). Either way it cannot be delivered whole.
        return error == SocketError.Success && sent == reply.Length ? NonBlockingIo.Probe(_socket!) : Delivery.Gone;
    }

    /// <summary>The claimed waiter acknowledged its reply: it closes, and this arrival gets its own reply.</summary>
    private void CompletePair(ClientSession waiter)
    {
        // Read the waiter before signalling it: its continuation runs now and recycles it.
        Span<byte> reply = stackalloc byte[ReplyRoom];
        int length = FormatReply(waiter, reply);
        _server.Metrics?.OnPaired(waiter.ArrivedAt, ArrivedAt);
        // Counted before either side sees its connection end.
        ServerCounters.Add(ref _server.Counters.Pairs);
        CountRelayOffer();
        waiter.Signal(PairOutcome.PairedWith(Address));
        SendReply(reply[..length]);
    }

    /// <summary>Room for this client's reply: a v1 <c>ADDR PORT</c>, or a v2 <c>PEER</c> line.</summary>
    private int ReplyRoom => _offer is null ? TStun.MaxReplyLength : TStun2.MaxPeerLineLength;

    /// <summary>Writes this client's reply about <paramref name="partner"/>, which has the same key and so the same form.</summary>
    private int FormatReply(ClientSession partner, Span<byte> reply) =>
        _offer is { } offer
            ? PeerLine.Format(partner.Address, offer.Token, offer.RelayAt, partner._offer!.Candidates.AsSpan(), reply)
            : PeerReply.Format(partner.Address, reply);

    /// <summary>The claimed waiter reset, or did not acknowledge its reply in time: it is aborted and not counted as paired.</summary>
    private void GiveUpOn(ClientSession waiter)
    {
        ReleaseRelay(waiter);
        ServerCounters.Add(ref _server.Counters.DeadWaiters);
        waiter.Signal(PairOutcome.Ended(WaitEnd.Gone));
    }

    /// <summary>The acknowledgement is not in yet: the confirmation poll takes this arrival over.</summary>
    private void AwaitAcknowledgement(ClientSession waiter)
    {
        _claimed = waiter;
        Deadline = Environment.TickCount64 + (long)_server.Options.ConfirmTimeout.TotalMilliseconds;
        TryMove(PartyPhase.Pairing, PartyPhase.Confirming);
        if (!_server.Confirmations.Add(this))
        {
            EndConfirmationAtShutdown();
        }
    }

    /// <summary>
    /// Asks the claimed waiter's TCP again, on the confirmation poll's thread; true while the
    /// answer is still pending. Gone, or no acknowledgement by the deadline, gives the waiter up
    /// and pairs this arrival anew.
    /// </summary>
    internal bool PollClaimedWaiter(long now)
    {
        var waiter = _claimed!;
        var delivery = NonBlockingIo.Probe(waiter._socket!);
        if (delivery == Delivery.Unacknowledged && now < Deadline)
        {
            return true;
        }
        if (!TryMove(PartyPhase.Confirming, PartyPhase.Pairing))
        {
            return false;
        }
        _claimed = null;
        if (delivery == Delivery.Acknowledged)
        {
            CompletePair(waiter);
        }
        else
        {
            GiveUpOn(waiter);
            Pair();
        }
        return false;
    }

    /// <summary>The server stops while this arrival waits for an acknowledgement: both end, neither counted as paired.</summary>
    internal void EndConfirmationAtShutdown()
    {
        if (!TryMove(PartyPhase.Confirming, PartyPhase.Pairing))
        {
            return;
        }
        var waiter = _claimed!;
        _claimed = null;
        ReleaseRelay(waiter);
        waiter.Signal(PairOutcome.Ended(WaitEnd.Gone));
        Close("server shutting down");
    }

    protected override void OnWaitEnded(in PairOutcome outcome)
    {
        if (outcome.End == WaitEnd.Rejoin)
        {
            // Its claimer owned it (Paired) and hands it back: it waits again, or pairs.
            TryMove(PartyPhase.Paired, PartyPhase.Pairing);
            Pair();
            return;
        }
        _server.Cluster?.Withdraw(this);
        switch (outcome.End)
        {
            case WaitEnd.Paired:
                // The arrival that claimed this waiter sent the reply and saw it acknowledged.
                Close(null);
                break;
            case WaitEnd.Gone:
                // Aborted, so that a waiter that is alive after all does not punch towards an
                // arrival that moved on.
                Close("claimed, but reset or silent when its reply was sent", abort: true);
                break;
            default:
                Close(outcome.End switch
                {
                    WaitEnd.TimedOut => "no partner before the timeout",
                    WaitEnd.Disconnected => "reset while waiting",
                    WaitEnd.OverShare => "rejected: its source has its share of clients waiting",
                    _ => "server shutting down",
                });
                break;
        }
    }

    /// <summary>
    /// Sends the reply in one write; close() then sends the FIN after it. <paramref name="done"/>
    /// is what the verbose log says of the connection (null: paired).
    /// </summary>
    private void SendReply(ReadOnlySpan<byte> reply, string? done = null)
    {
        int length = reply.Length;
        var error = NonBlockingIo.Send(_socket!, reply, out int sent);
        if (error == SocketError.WouldBlock || (error == SocketError.Success && sent < length))
        {
            // The send buffer is full (memory pressure): finish asynchronously.
            _done = done;
            RentIo(length <= TStun.MaxReplyLength ? _server.IoPool : _server.LineIoPool);
            reply[sent..length].CopyTo(_io!.Bytes);
            _io.SetBuffer(0, length - sent);
            try
            {
                if (_socket!.SendAsync(_io))
                {
                    return;
                }
            }
            catch (ObjectDisposedException)
            {
                Close("aborted before its reply");
                return;
            }
            error = _io.SocketError;
        }
        Close(error == SocketError.Success ? done : "lost before its reply");
    }

    internal void OnIoCompleted(SessionIo io)
    {
        if (io.LastOperation == SocketAsyncOperation.Receive)
        {
            // A v2 client's offer exists from its key on, so a read with one is a read of its line.
            if (_offer is not null ? OnLineBytes() : OnKeyBytes())
            {
                Receive();
            }
        }
        else
        {
            Close(io.SocketError == SocketError.Success ? _done : "lost before its reply");
        }
    }

    /// <summary>
    /// Ends the connection and recycles the session; reached exactly once per connection. Closing
    /// sends the FIN after any reply, just as shutdown(SHUT_WR) would, in one syscall fewer. A
    /// waiter leaves the disconnect watcher's epoll first (see <see cref="DisconnectWatcher.Unwatch"/>),
    /// so the watcher is not woken for it and the close is this thread's own.
    /// With <paramref name="abort"/>, the close sends a reset instead (SO_LINGER 0).
    /// </summary>
    private void Close(string? why, bool abort = false)
    {
        var socket = Interlocked.Exchange(ref _socket, null);
        // Counted before the close: a client that has seen its connection end sees the counters too.
        _server.OnSessionClosing(this);
        LeaveRelay();
        if (abort && socket is not null)
        {
            try
            {
                socket.LingerState = new LingerOption(true, 0);
            }
            catch (SocketException)
            {
                // Reset already: closing is all that is left.
            }
        }
        if (_watched && socket is not null)
        {
            // Else the close, and the FIN after the reply, could wait on the watcher's thread.
            _server.Watcher.Unwatch(socket);
        }
        _watched = false;
        socket?.Dispose();
        ReturnIo();
        ReturnOffer();
        _done = null;
        _server.Log.Debug((Address, why), static s => $"{s.Address}: {s.why ?? "paired"}");
        Begin(PartyPhase.Idle);
        _server.OnSessionClosed(this);
    }

    private void RentIo(ObjectPool<SessionIo> pool)
    {
        _io = pool.Get();
        _ioPool = pool;
        _io.Owner = this;
    }

    private void ReturnIo()
    {
        if (_io is { } io)
        {
            _io = null;
            _ioPool!.Return(io);
        }
    }
}
