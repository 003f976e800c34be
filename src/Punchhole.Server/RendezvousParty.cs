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

    /// <summary>
    /// Has its key and is looking for a partner in the table; also an arrival back from
    /// <see cref="Confirming"/> that gave up a dead waiter and looks again.
    /// </summary>
    Pairing,

    /// <summary>About to wait: the table is publishing the party. An arrival may claim it already; the heartbeat, the watcher and Stop leave it alone.</summary>
    Joining,

    /// <summary>In the table, waiting for a partner with the same key.</summary>
    Waiting,

    /// <summary>A waiter (joining or waiting) claimed by an arrival, which now owns it until it signals the outcome.</summary>
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
/// One side of a rendezvous as the pairing table sees it: a key, a phase, and the completion its
/// partner sets. Phase, wait episode and generation share one word (generation in the high 32 bits,
/// episode in bits 8-31, phase in the low byte) so that every transition is a single
/// compare-and-swap, and a stale actor (say the heartbeat looking at a recycled party, or an arrival
/// holding a table node of an earlier wait) can never move a later incarnation or a later wait. The
/// first actor to end a wait wins; the others find the word already moved and do nothing.
/// </summary>
/// <remarks>
/// The legal moves, and who makes them:
/// <list type="bullet">
/// <item>any to ReadingKey or Idle, in a new generation: the session itself, at accept and at close;</item>
/// <item>ReadingKey to Pairing (its key is in), or to KeyAborted (the session, the heartbeat or Stop);</item>
/// <item>Pairing to Joining, in a new episode, then Joining to Waiting (published) or back to
/// Pairing (never published): the table, on the party's own thread;</item>
/// <item>Joining or Waiting to Paired: the arrival that claims it, which owns it from then on;</item>
/// <item>Waiting to Left: the heartbeat, the disconnect watcher, Stop, or the party itself when
/// it finds the server stopping;</item>
/// <item>Pairing to Confirming and back: an arrival while its claimed waiter's acknowledgement is
/// pending, moved back by whichever of the confirmation poll and Stop gets there first.</item>
/// </list>
/// Only the thread that holds the party in Pairing moves it out of Pairing, which is what lets the
/// table's start of a wait be a plain write.
/// </remarks>
internal abstract class RendezvousParty
{
    private const long PhaseMask = 0xFF;
    private const long EpisodeUnit = 0x100;
    private const long EpisodeMask = 0xFFFF_FF00;
    private const long GenerationMask = ~0xFFFF_FFFFL;

    private static readonly Action<object?> s_onSignal = static state => ((RendezvousParty)state!).ConsumeSignal();

    // Completions run on the thread that sets them: the partner's, inline, which saves a hop.
    private ManualResetValueTaskSourceCore<PairOutcome> _signal = new() { RunContinuationsAsynchronously = false };
    private long _word;

#if SPIN_LOCK_PAIRING_TABLE
    /// <summary>The next waiter in the same bucket of the reference spin-lock table (bench/), built into tstun only for comparisons.</summary>
    internal RendezvousParty? NextInBucket;
#endif

    public SessionKey Key { get; protected set; }

    /// <summary>This party's observed address: what its partner is told.</summary>
    public PeerAddress Address { get; protected set; }

    /// <summary>When the current phase times out, in <see cref="Environment.TickCount64"/> milliseconds.</summary>
    public long Deadline { get; protected set; }

    /// <summary>The phase, episode and generation, read as one, for a later <see cref="TryMove(long, PartyPhase)"/>.</summary>
    public long Word => Volatile.Read(ref _word);

    public static PartyPhase PhaseOf(long word) => (PartyPhase)(byte)word;

    /// <summary>Starts a new incarnation in <paramref name="phase"/>.</summary>
    protected void Begin(PartyPhase phase)
    {
        long generation = (Volatile.Read(ref _word) >> 32) + 1;
        Volatile.Write(ref _word, (generation << 32) | (byte)phase);
    }

    /// <summary>Moves from exactly <paramref name="observed"/> (phase, episode and generation) to <paramref name="next"/>.</summary>
    public bool TryMove(long observed, PartyPhase next) =>
        Interlocked.CompareExchange(ref _word, (observed & ~PhaseMask) | (byte)next, observed) == observed;

    /// <summary>Moves from <paramref name="from"/> in the current generation and episode to <paramref name="next"/>.</summary>
    protected bool TryMove(PartyPhase from, PartyPhase next)
    {
        long word = Volatile.Read(ref _word);
        return PhaseOf(word) == from && TryMove(word, next);
    }

    /// <summary>
    /// Called by a pairing table as the party starts a wait: moves it to <paramref name="phase"/>
    /// (<see cref="PartyPhase.Joining"/>, or <see cref="PartyPhase.Waiting"/> for a table that holds
    /// a lock meanwhile) in a new episode, and returns the word. No word of an earlier wait of this
    /// incarnation can equal it. A plain write: the party is in a phase that nobody else moves
    /// (pairing, or idle), and no table has it yet.
    /// </summary>
    internal long StartWait(PartyPhase phase)
    {
        long word = Volatile.Read(ref _word);
        long started = (word & GenerationMask) | ((word + EpisodeUnit) & EpisodeMask) | (byte)phase;
        Volatile.Write(ref _word, started);
        return started;
    }

    /// <summary>
    /// True while <paramref name="word"/> is still in the wait that began with <paramref name="started"/>
    /// (a word <see cref="StartWait"/> returned): same generation and episode, joining or waiting.
    /// </summary>
    internal static bool InWait(long word, long started) =>
        ((word ^ started) & ~PhaseMask) == 0 && PhaseOf(word) is PartyPhase.Joining or PartyPhase.Waiting;

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

    /// <summary>
    /// Completes the wait. Only the actor that moved the phase out of the wait may call it: the
    /// actor that moved it to Left, or the arrival that claimed it (moved it to Paired), once it
    /// knows whether its reply was acknowledged.
    /// </summary>
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
