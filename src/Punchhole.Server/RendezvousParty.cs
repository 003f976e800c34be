using System.Threading.Tasks.Sources;
using Punchhole.Protocol;

namespace Punchhole.Server;

/// <summary>Where a party is in its life. Only the transitions in <see cref="RendezvousParty"/> are legal.</summary>
internal enum PartyPhase
{
    /// <summary>In the pool, between connections.</summary>
    Idle = 0,

    /// <summary>Reading its 32 key bytes.</summary>
    ReadingKey,

    /// <summary>The key read was ended (EOF, reset, or the key timeout); the party closes without a reply.</summary>
    KeyAborted,

    /// <summary>Has its key and is looking for a partner in the table.</summary>
    Pairing,

    /// <summary>In the table, waiting for a partner with the same key.</summary>
    Waiting,

    /// <summary>A waiter claimed by an arrival, which now owns it until it signals the outcome.</summary>
    Paired,

    /// <summary>A waiter that left the table without a partner (timeout, reset, shutdown).</summary>
    Left,

    /// <summary>An arrival that sent its claimed waiter its reply and waits for the waiter's TCP to acknowledge it.</summary>
    Confirming,
}

/// <summary>Why a wait ended.</summary>
internal enum WaitEnd
{
    /// <summary>The arrival that claimed this waiter delivered its reply, acknowledged: close normally.</summary>
    Paired,

    /// <summary>Claimed, sent its reply, but reset or silent: the arrival moved on; abort.</summary>
    Gone,

    /// <summary>No partner before the wait timeout.</summary>
    TimedOut,

    /// <summary>The waiter's connection was reset while it waited.</summary>
    Disconnected,

    /// <summary>The server is stopping.</summary>
    ShuttingDown,
}

/// <summary>The result a waiting party receives from whoever ends its wait.</summary>
internal readonly record struct PairOutcome(WaitEnd End, PeerAddress Partner)
{
    public static PairOutcome PairedWith(in PeerAddress partner) => new(WaitEnd.Paired, partner);

    public static PairOutcome Ended(WaitEnd end) => new(end, default);
}

/// <summary>
/// One side of a rendezvous as the pairing table sees it: a key, a link in its bucket's chain,
/// a phase, and the completion its partner sets. Phase and generation share one word so that every
/// transition is a single compare-and-swap and a stale actor (say the heartbeat looking at a
/// recycled party) can never move a later incarnation. The first actor to end a wait wins; the
/// others find the phase already moved and do nothing.
/// </summary>
internal abstract class RendezvousParty
{
    private static readonly Action<object?> s_onSignal = static state => ((RendezvousParty)state!).ConsumeSignal();

    // Completions run on the thread that sets them: the partner's, inline, which saves a hop.
    private ManualResetValueTaskSourceCore<PairOutcome> _signal = new() { RunContinuationsAsynchronously = false };
    private long _word;

    /// <summary>The next waiter in the same table bucket; owned by <see cref="PairingTable"/>.</summary>
    internal RendezvousParty? NextInBucket;

    public SessionKey Key { get; protected set; }

    /// <summary>This party's observed address: what its partner is told.</summary>
    public PeerAddress Address { get; protected set; }

    /// <summary>When the current phase times out, in <see cref="Environment.TickCount64"/> milliseconds.</summary>
    public long Deadline { get; protected set; }

    /// <summary>The phase and generation, read as one, for a later <see cref="TryMove(long, PartyPhase)"/>.</summary>
    public long Word => Volatile.Read(ref _word);

    public static PartyPhase PhaseOf(long word) => (PartyPhase)(int)word;

    /// <summary>Starts a new incarnation in <paramref name="phase"/>.</summary>
    protected void Begin(PartyPhase phase)
    {
        long generation = (Volatile.Read(ref _word) >> 32) + 1;
        Volatile.Write(ref _word, (generation << 32) | (uint)phase);
    }

    /// <summary>Moves from exactly <paramref name="observed"/> (phase and generation) to <paramref name="next"/>.</summary>
    public bool TryMove(long observed, PartyPhase next) =>
        Interlocked.CompareExchange(ref _word, (observed & ~0xFFFF_FFFFL) | (uint)next, observed) == observed;

    /// <summary>Moves from <paramref name="from"/> in the current generation to <paramref name="next"/>.</summary>
    protected bool TryMove(PartyPhase from, PartyPhase next)
    {
        long word = Volatile.Read(ref _word);
        return PhaseOf(word) == from && TryMove(word, next);
    }

    /// <summary>Called by the table, under its bucket lock, as the party starts to wait.</summary>
    internal void EnterWaiting()
    {
        long word = Volatile.Read(ref _word);
        Volatile.Write(ref _word, (word & ~0xFFFF_FFFFL) | (uint)PartyPhase.Waiting);
    }

    /// <summary>Called by the table, under its bucket lock: claims a waiter for the arriving client.</summary>
    internal bool TryClaimForPairing() => TryMove(PartyPhase.Waiting, PartyPhase.Paired);

    /// <summary>
    /// Ends a wait for a reason other than pairing, if it has not ended already, counting it in
    /// <paramref name="counter"/> first: the count is in before the client can see its connection close.
    /// </summary>
    public bool TryEndWait(long observed, PairingTable table, WaitEnd end, ref long counter)
    {
        if (PhaseOf(observed) != PartyPhase.Waiting || !TryMove(observed, PartyPhase.Left))
        {
            return false;
        }
        Interlocked.Increment(ref counter);
        table.Remove(this);
        Signal(PairOutcome.Ended(end));
        return true;
    }

    /// <summary>Completes the wait. Only the actor that moved the phase out of Waiting may call it.</summary>
    public void Signal(in PairOutcome outcome) => _signal.SetResult(outcome);

    /// <summary>Waits for the partner (or the end of the wait) like awaiting a TaskCompletionSource, without allocating.</summary>
    protected void AwaitPartner()
    {
        short version = _signal.Version;
        if (_signal.GetStatus(version) != ValueTaskSourceStatus.Pending)
        {
            ConsumeSignal();
            return;
        }
        _signal.OnCompleted(s_onSignal, this, version, ValueTaskSourceOnCompletedFlags.None);
    }

    /// <summary>Runs once per wait, on the thread that ended it.</summary>
    protected abstract void OnWaitEnded(in PairOutcome outcome);

    private void ConsumeSignal()
    {
        var outcome = _signal.GetResult(_signal.Version);
        _signal.Reset();
        OnWaitEnded(outcome);
    }
}
