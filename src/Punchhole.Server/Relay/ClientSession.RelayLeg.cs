using System.Net.Sockets;
using Punchhole.Protocol.V2;

namespace Punchhole.Server;

/// <summary>
/// A connection whose key is a relay leg's (<c>T-STUN/R</c> and a token): handed to the relay,
/// which refuses it (<c>REFUSED REASON</c>), parks it until the other leg of its session arrives,
/// or joins the two and relays them. The session stays open, and counted in <c>active</c>, for the
/// leg's whole life; the relay engine closes it through <see cref="EndRelay"/>.
/// </summary>
internal sealed partial class ClientSession
{
    // True while this leg counts against the relay's per-address cap.
    private bool _relayCounted;

    /// <summary>The relay reservation this leg waits in; -1 when it waits in none.</summary>
    internal int RelaySlot { get; set; } = -1;

    private void StartRelayLeg(bool wellFormed, in RelayToken token)
    {
        if (_server.Relay is not { } relay)
        {
            RefuseRelay(RelayRefusal.Off, ref _server.Counters.RelayRefused);
        }
        else if (!wellFormed)
        {
            RefuseRelay(RelayRefusal.Token, ref _server.Counters.RelayRefused);
        }
        else
        {
            relay.OnLeg(this, token);
        }
    }

    /// <summary>Counts the refusal in <paramref name="counter"/>, says why on the leg, and closes it.</summary>
    internal void RefuseRelay(RelayRefusal reason, ref long counter)
    {
        ServerCounters.Add(ref counter);
        Span<byte> line = stackalloc byte[TStun2.MaxRelayStatusLength];
        int length = RelayStatus.FormatRefused(reason, line);
        SendReply(line[..length], reason switch
        {
            RelayRefusal.Off => "relay leg refused: the relay is off",
            RelayRefusal.Busy => "relay leg refused: --relay-max reached",
            RelayRefusal.PerIp => "relay leg refused: --relay-max-per-ip reached",
            RelayRefusal.Timeout => "relay leg closed: the other leg did not come",
            RelayRefusal.Shutdown => "relay leg closed: server shutting down",
            _ => "relay leg refused: unknown, expired or used token",
        });
    }

    /// <summary>Counted against the relay's per-address cap from now until the leg closes.</summary>
    internal void CountAgainstRelayCap() => _relayCounted = true;

    /// <summary>Parks the leg until <paramref name="deadline"/> (the heartbeat ends it then). Under the relay's lock.</summary>
    internal void AwaitRelayPartner(int slot, long deadline)
    {
        RelaySlot = slot;
        Deadline = deadline;
        TryMove(PartyPhase.Pairing, PartyPhase.RelayLeg);
    }

    /// <summary>Joined to its partner: from now on the relay engine owns this leg. Under the relay's lock.</summary>
    internal void EnterRelaying()
    {
        RelaySlot = -1;
        long word = Word;
        TryMove(word, PartyPhase.Relaying);
    }

    /// <summary>Writes <c>JOINED</c> in one non-blocking send; false when the leg is gone.</summary>
    internal bool TrySendJoined()
    {
        var error = NonBlockingIo.Send(_socket!, RelayStatus.Joined, out int sent);
        return error == SocketError.Success && sent == RelayStatus.Joined.Length;
    }

    /// <summary>The leg's connection, for the relay engine.</summary>
    internal Socket? RelaySocket => Socket;

    /// <summary>Ends a relayed leg, counted already by the relay: a FIN when both directions finished, a reset otherwise.</summary>
    internal void EndRelay(string why, bool abort) => Close(why, abort);

    private void LeaveRelay()
    {
        RelaySlot = -1;
        if (_relayCounted)
        {
            _relayCounted = false;
            _server.Relay!.Leave(Address);
        }
    }
}
