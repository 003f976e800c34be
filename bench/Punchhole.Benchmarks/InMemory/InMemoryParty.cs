using Punchhole.Protocol;
using Punchhole.Server;

namespace Punchhole.Benchmarks.InMemory;

/// <summary>
/// A rendezvous party with no socket: what <see cref="ClientSession"/> is to the pairing table,
/// minus the I/O, so the table and the handoff can be measured (and their allocations counted)
/// on their own. Reused across arrivals, as the server reuses its pooled sessions.
/// </summary>
internal sealed class InMemoryParty : RendezvousParty
{
    public InMemoryParty(in PeerAddress address) => Address = address;

    /// <summary>How the last wait ended; meaningful once <see cref="WaitEnded"/> is true.</summary>
    public PairOutcome Outcome { get; private set; }

    /// <summary>True once the partner (or the end of the wait) has completed this party's wait.</summary>
    public bool WaitEnded { get; private set; }

    /// <summary>Starts a new incarnation for a client whose key has arrived: the phase the table expects.</summary>
    public void Arrive(in SessionKey key)
    {
        Key = key;
        WaitEnded = false;
        Begin(PartyPhase.Pairing);
    }

    /// <summary>Waits for the partner without blocking: the partner's signal runs the continuation inline.</summary>
    public void Wait() => AwaitPartner();

    protected override void OnWaitEnded(in PairOutcome outcome)
    {
        Outcome = outcome;
        WaitEnded = true;
    }
}
