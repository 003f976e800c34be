using System.Net.Sockets;
using Punchhole.Protocol;
using Punchhole.Protocol.V2;
using Punchhole.Server.Cluster;

namespace Punchhole.Server;

/// <summary>
/// T-STUN/2's exchange on a client connection (docs/PROTOCOL.md): a v2 key is answered at once with
/// the hello (the client's own observed address, and whether the relay is on), then the client's
/// <c>CAND</c> line is read, strictly and within the key timeout, before the client pairs as in v1.
/// Its reply is a <c>PEER</c> line carrying its partner's candidates, or <c>COLLISION</c> for an
/// exclusive registration whose key is taken. A malformed, oversized or missing line closes the
/// connection, counted in <c>bad_lines</c>.
/// </summary>
internal sealed partial class ClientSession
{
    // What this v2 client offered; null for v1 clients and relay legs.
    private CandidateOffer? _offer;

    private void StartVersion2()
    {
        ServerCounters.Add(ref _server.Counters.Version2Clients);
        _offer = _server.Offers.Get();
        Span<byte> hello = stackalloc byte[TStun2.MaxHelloLength];
        int length = Hello.Format(Address, _server.Relay is null ? ServerFlags.None : ServerFlags.Relay, hello);
        var error = NonBlockingIo.Send(_socket!, hello[..length], out int sent);
        if (error != SocketError.Success || sent != length)
        {
            // A fresh connection's send buffer always takes the hello's few dozen bytes: this one is gone.
            OnLineFailed("lost before its hello");
            return;
        }
        // The line comes a round trip after the hello; ReceiveAsync still tries a plain read first.
        RentIo(_server.LineIoPool);
        Receive();
    }

    /// <summary>Takes in a completed read of the line; true when more of it is still to come.</summary>
    private bool OnLineBytes()
    {
        int n = _io!.BytesTransferred;
        if (_io.SocketError != SocketError.Success || n == 0)
        {
            OnLineFailed("no candidate line");
            return false;
        }
        var offer = _offer!;
        int start = offer.Received;
        offer.Received += n;
        var received = _io.Bytes[..offer.Received];
        int end = received[start..].IndexOf(TStun2.LineFeed);
        if (end < 0)
        {
            if (offer.Received < TStun2.MaxCandidateLineLength)
            {
                return true;
            }
            OnLineFailed("candidate line too long");
            return false;
        }
        // The line is the last thing a client sends before its FIN: bytes after it are a protocol error too.
        if (start + end + 1 != offer.Received || !CandidateLine.TryParse(received, out var flags, ref offer.Candidates))
        {
            OnLineFailed("malformed candidate line");
            return false;
        }
        offer.Flags = flags;
        OnLine();
        return false;
    }

    /// <summary>EOF, a reset or bad bytes before a whole line, or the heartbeat aborted the read: no reply.</summary>
    private void OnLineFailed(string why)
    {
        // If the heartbeat aborted the read, it has counted it already (as a key timeout).
        if (TryMove(PartyPhase.ReadingLine, PartyPhase.KeyAborted))
        {
            ServerCounters.Add(ref _server.Counters.BadLines);
        }
        Close(why);
    }

    private void OnLine()
    {
        if (!TryMove(PartyPhase.ReadingLine, PartyPhase.Pairing))
        {
            Close("key timeout");
            return;
        }
        StopReadingAndPair();
    }

    /// <summary>
    /// Called by an arrival on the waiter it claimed, before the waiter's reply is written: when both
    /// are v2 clients that said <c>relay-ok</c> and the relay is on, each gets a token for the relay.
    /// </summary>
    private void ReserveRelay(ClientSession waiter)
    {
        if (_offer is { RelayOk: true } mine && waiter._offer is { RelayOk: true } theirs && _server.Relay is { } relay)
        {
            relay.Reserve(theirs, mine);
        }
    }

    /// <summary>What this client's instance passes on about it with a claim of a waiter elsewhere (nothing for v1).</summary>
    internal RemoteOffer DescribeForClaim() =>
        _offer is { } offer ? new RemoteOffer(offer.RelayOk, offer.Candidates.AsSpan().ToArray(), default, default) : default;

    /// <summary>
    /// This waiter, claimed by a client of another instance, gets its reply: when both said
    /// <c>relay-ok</c> and this instance relays with a public address, the session is reserved here,
    /// and <paramref name="answer"/> carries the claimer's token, this relay's address and this
    /// waiter's candidates back to the claimer's instance.
    /// </summary>
    internal Delivery DeliverClaimedReply(in PeerAddress claimer, in RemoteOffer claimerOffer, out RemoteOffer answer)
    {
        answer = default;
        if (_offer is not { } offer)
        {
            return DeliverReply(claimer, default, default, default);
        }
        var claimerToken = default(RelayToken);
        var relayAt = default(PeerAddress);
        if (offer.RelayOk && claimerOffer.RelayOk && _server.Relay is { } relay && !relay.ReserveForRemote(offer, out claimerToken, out relayAt))
        {
            relayAt = default;
        }
        answer = new RemoteOffer(false, offer.Candidates.AsSpan().ToArray(), claimerToken, relayAt);
        return DeliverReply(claimer, claimerOffer, offer.Token, offer.RelayAt);
    }

    /// <summary>The claim of this waiter failed after all: the tokens it may have been given are not passed on.</summary>
    internal void WithdrawClaimedRelay()
    {
        if (_offer is { } offer)
        {
            offer.Token = default;
            offer.RelayAt = default;
            offer.Reservation = -1;
        }
    }

    /// <summary>The pair is made: if it was given relay tokens, that counts as an offer.</summary>
    internal void CountRelayOffer()
    {
        if (_offer is { Reservation: >= 0 })
        {
            ServerCounters.Add(ref _server.Counters.RelayOffered);
        }
    }

    /// <summary>The claimed waiter is gone: its pair's tokens are withdrawn before anyone could use them.</summary>
    private void ReleaseRelay(ClientSession waiter)
    {
        if (_offer is { } mine && waiter._offer is { } theirs)
        {
            RelayService.Withdraw(theirs, mine);
        }
    }

    private void ReturnOffer()
    {
        if (_offer is { } offer)
        {
            _offer = null;
            _server.Offers.Return(offer);
        }
    }
}
