using System.Net.Sockets;
using Punchhole.Protocol;

namespace Punchhole.Server;

/// <summary>
/// One client connection, from accept to close: read the 32-byte key, pair or wait, send the
/// partner's address, close (which sends the FIN). Pooled. The common case (the key is already
/// in, the reply fits in the send buffer) is one non-blocking recv and one send, with no event
/// args at all. Only a read or write that would block borrows pooled event args,
/// and completions that finish synchronously are looped over on the same thread, never recursed.
/// </summary>
internal sealed class ClientSession : RendezvousParty
{
    private readonly RendezvousServer _server;
    private SessionIo? _io;
    private Socket? _socket;
    private int _received;

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
        Deadline = Environment.TickCount64 + (long)_server.Options.WaitTimeout.TotalMilliseconds;
        switch (_server.Table.PairOrWait(this, out var found))
        {
            case PairingResult.Paired:
                // Read the partner before signalling it: its continuation runs now and recycles it.
                var partnerAddress = found!.Address;
                // Counted before either side can see its reply.
                ServerCounters.Add(ref _server.Counters.Pairs);
                found.Signal(PairOutcome.PairedWith(Address));
                SendReply(partnerAddress);
                break;
            case PairingResult.Waiting:
                _server.Watcher.Watch(_socket!, Token);
                AwaitPartner();
                break;
            default:
                ServerCounters.Add(ref _server.Counters.RejectedWaiting);
                Close("rejected: too many clients waiting");
                break;
        }
    }

    protected override void OnWaitEnded(in PairOutcome outcome)
    {
        if (outcome.End == WaitEnd.Paired)
        {
            SendReply(outcome.Partner);
            return;
        }
        Close(outcome.End switch
        {
            WaitEnd.TimedOut => "no partner before the timeout",
            WaitEnd.Disconnected => "reset while waiting",
            _ => "server shutting down",
        });
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
    /// </summary>
    private void Close(string? why)
    {
        var socket = Interlocked.Exchange(ref _socket, null);
        // Counted before the close: a client that has seen its connection end sees the counters too.
        _server.OnSessionClosing(this);
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
