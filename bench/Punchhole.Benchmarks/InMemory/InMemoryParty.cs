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
    public bool WaitEnded => Volatile.Read(ref _waitEnded);

    /// <summary>True when the last arrival had to wait (it was the first of its pair).</summary>
    public bool Waited { get; private set; }

    private bool _waitEnded;

    /// <summary>The next waiter in the same bucket of the reference spin-lock table (Reference/), which threads its chains through the parties.</summary>
#pragma warning disable CS0649 // The budget tests compile this file without that table, which alone assigns it.
    internal InMemoryParty? NextInBucket;
#pragma warning restore CS0649

    /// <summary>Starts a new incarnation for a client whose key has arrived: the phase the table expects.</summary>
    public void Arrive(in SessionKey key)
    {
        Key = key;
        Waited = false;
        Volatile.Write(ref _waitEnded, false);
        Begin(PartyPhase.Pairing);
    }

    /// <summary>
    /// Waits for the partner without blocking. The partner's signal runs the continuation inline,
    /// unless it lands between this party's check and its registration: then the completion
    /// source queues the continuation to the thread pool, and the wait ends a moment later.
    /// </summary>
    public void Wait()
    {
        Waited = true;
        AwaitPartner();
    }

    /// <summary>
    /// Spins until a wait this party began has ended: a party must not arrive again while its
    /// last wait's continuation may still be queued (the server recycles a session only after it).
    /// </summary>
    public void AwaitEnded()
    {
        var spinner = new SpinWait();
        while (Waited && !WaitEnded)
        {
            spinner.SpinOnce();
        }
    }

    protected override void OnWaitEnded(in PairOutcome outcome)
    {
        Outcome = outcome;
        Volatile.Write(ref _waitEnded, true);
    }
}
