using System.Net.Sockets;
using Punchhole.Protocol;

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
/// moves them, are listed on <see cref="RendezvousParty"/>.
/// </summary>
internal sealed class ClientSession : RendezvousParty
{
    private readonly RendezvousServer _server;
    private SessionIo? _io;
    private Socket? _socket;
    private int _received;

    // The waiter this arrival claimed, while the confirmation poll waits for its acknowledgement.
    private ClientSession? _claimed;

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

    public void Start(Socket socket, in PeerAddress address, long now)
    {
        Volatile.Write(ref _socket, socket);
        Address = address;
        _received = 0;
        Deadline = now + (long)_server.Options.KeyTimeout.TotalMilliseconds;
        Begin(PartyPhase.ReadingKey);

        Span<byte> key = stackalloc byte[TStun.KeyLength];
        var error = NonBlockingIo.Receive(socket, key, out int n);
        if (error == SocketError.Success && n == TStun.KeyLength)
        {
            OnKey(key);
        }
        else if (error == SocketError.WouldBlock || (error == SocketError.Success && n > 0))
        {
            // The rest of the key is still on its way: wait for it with event args.
            RentIo();
            key[..n].CopyTo(_io!.Bytes);
            _received = n;
            ReceiveKey();
        }
        else
        {
            OnKeyFailed();
        }
    }

    private void ReceiveKey()
    {
        while (true)
        {
            _io!.SetBuffer(_received, TStun.KeyLength - _received);
            bool pending;
            try
            {
                pending = _socket!.ReceiveAsync(_io);
            }
            catch (ObjectDisposedException)
            {
                Close("aborted while reading its key");
                return;
            }
            if (pending || !OnKeyBytes())
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
        if (!TryMove(PartyPhase.ReadingKey, PartyPhase.Pairing))
        {
            Close("key timeout");
            return;
        }
        Key = SessionKey.Read(key);
        ReturnIo();
        try
        {
            // Nothing after the key is read, as in the original.
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
            switch (_server.Table.PairOrWait(this, out var found))
            {
                case PairingResult.Paired:
                    // A waiter's process may have died after its key (its kernel sent only a FIN), so
                    // the waiter gets its reply first, and this arrival gets its own only once the
                    // waiter's TCP has acknowledged it. A dead waiter's kernel answers with a reset.
                    var waiter = (ClientSession)found!;
                    switch (waiter.DeliverReply(Address))
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
                    // An arrival may have claimed this party already, even before the table
                    // returned (while it was Joining): its claimer then owns it and is sending it
                    // its reply, and the outcome waits in the completion until AwaitPartner.
                    _server.Watcher.Watch(_socket!, Token);
                    // Stop ends the waits it finds as it scans; a wait that begins meanwhile ends
                    // here. The fence keeps the read of the flag after the write of the phase.
                    Interlocked.MemoryBarrier();
                    if (_server.IsStopping)
                    {
                        long uncounted = 0;
                        TryEndWait(Word, _server.Table, WaitEnd.ShuttingDown, ref uncounted);
                    }
                    AwaitPartner();
                    return;
                default:
                    ServerCounters.Add(ref _server.Counters.RejectedWaiting);
                    Close("rejected: too many clients waiting");
                    return;
            }
        }
    }

    /// <summary>
    /// Called on a waiter by the arrival that claimed it: sends the waiter its reply (the arrival's
    /// address) and asks at once whether the waiter's TCP has acknowledged it. On a LAN the answer
    /// (an ACK, or a dead waiter's reset) is usually in before the send returns.
    /// </summary>
    private Delivery DeliverReply(in PeerAddress partner)
    {
        Span<byte> reply = stackalloc byte[TStun.MaxReplyLength];
        int length = PeerReply.Format(partner, reply);
        var error = NonBlockingIo.Send(_socket!, reply[..length], out int sent);
        // Anything but the whole reply at once: reset already, or no room for 52 bytes in an empty
        // send buffer (the host is out of TCP memory). Either way it cannot be delivered whole.
        return error == SocketError.Success && sent == length ? NonBlockingIo.Probe(_socket!) : Delivery.Gone;
    }

    /// <summary>The claimed waiter acknowledged its reply: it closes, and this arrival gets its own reply.</summary>
    private void CompletePair(ClientSession waiter)
    {
        // Read the waiter before signalling it: its continuation runs now and recycles it.
        var waiterAddress = waiter.Address;
        // Counted before either side sees its connection end.
        ServerCounters.Add(ref _server.Counters.Pairs);
        waiter.Signal(PairOutcome.PairedWith(Address));
        SendReply(waiterAddress);
    }

    /// <summary>The claimed waiter reset, or did not acknowledge its reply in time: it is aborted and not counted as paired.</summary>
    private void GiveUpOn(ClientSession waiter)
    {
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
        waiter.Signal(PairOutcome.Ended(WaitEnd.Gone));
        Close("server shutting down");
    }

    protected override void OnWaitEnded(in PairOutcome outcome)
    {
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
                    _ => "server shutting down",
                });
                break;
        }
    }

    /// <summary>Sends the reply in one write; close() then sends the FIN after it.</summary>
    private void SendReply(in PeerAddress partner)
    {
        Span<byte> reply = stackalloc byte[TStun.MaxReplyLength];
        int length = PeerReply.Format(partner, reply);
        var error = NonBlockingIo.Send(_socket!, reply[..length], out int sent);
        if (error == SocketError.WouldBlock || (error == SocketError.Success && sent < length))
        {
            // The send buffer is full (memory pressure): finish asynchronously.
            RentIo();
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
        Close(error == SocketError.Success ? null : "lost before its reply");
    }

    internal void OnIoCompleted(SessionIo io)
    {
        if (io.LastOperation == SocketAsyncOperation.Receive)
        {
            if (OnKeyBytes())
            {
                ReceiveKey();
            }
        }
        else
        {
            Close(io.SocketError == SocketError.Success ? null : "lost before its reply");
        }
    }

    /// <summary>
    /// Ends the connection and recycles the session; reached exactly once per connection. Closing
    /// sends the FIN after any reply, just as shutdown(SHUT_WR) would, in one syscall fewer, and it
    /// leaves the disconnect watcher's epoll before TCP closes, so the watcher is not woken for it.
    /// With <paramref name="abort"/>, the close sends a reset instead (SO_LINGER 0).
    /// </summary>
    private void Close(string? why, bool abort = false)
    {
        var socket = Interlocked.Exchange(ref _socket, null);
        // Counted before the close: a client that has seen its connection end sees the counters too.
        _server.OnSessionClosing(this);
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
        socket?.Dispose();
        ReturnIo();
        _server.Log.Debug((Address, why), static s => $"{s.Address}: {s.why ?? "paired"}");
        Begin(PartyPhase.Idle);
        _server.OnSessionClosed(this);
    }

    private void RentIo()
    {
        _io = _server.IoPool.Get();
        _io.Owner = this;
    }

    private void ReturnIo()
    {
        if (_io is { } io)
        {
            _io = null;
            _server.IoPool.Return(io);
        }
    }
}
