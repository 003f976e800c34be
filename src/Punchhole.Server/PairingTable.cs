using System.Numerics;
using System.Runtime.CompilerServices;
using Punchhole.Protocol;
#if PAIRING_TABLE_FLAWS
using Punchhole.Server;
#endif

// The pairing table is lock-free: every loop below repeats only because another thread wrote a
// word this one had read, that is, because another operation made progress. No thread ever waits
// for another: there is no lock word, no blocking call, and no spin on someone else's flag.
//
// Layout
//   _nodes    exactly `capacity` waiting places. A node holds a party, its stamp (the word
//             RendezvousParty.StartWait returned for this wait) and a link to the next node.
//   _heads    one link per bucket, to the bucket's first node. Buckets are chains of nodes.
//   _free     a stack (Treiber) of unused nodes; never-used ones come from _fresh, in order, so a
//             table that never fills touches only the memory it needs.
//   A link is one 64-bit word: bits 0-31 the target node + 1 (0: none), bit 32 a mark (on a node's
//   own link: this node is deleted), bits 33-63 a tag, one up on every write of that word. A
//   compare-and-swap on a link therefore fails if the word was written at all since it was read:
//   a node freed and reused, or a session recycled, cannot pass for its earlier self (no ABA).
//   Defeating that would take 2^31 writes of one word while a thread stands between two of its
//   own instructions.
//
// Invariants
//   I1 A node's party and stamp are written only while the node is private (taken from _free or
//      _fresh and not yet published); once published, its link is written only by compare-and-swap.
//   I2 A node is live while its party's word is InWait(word, stamp). Once not, never again: the
//      word's generation and episode only go up, and StartWait begins a new episode each time.
//   I3 Only dead nodes are marked, and a marked link does not change until the node is freed.
//   I4 A published node that is not marked is reachable from its bucket's head. Nodes are inserted
//      only at the head; a node is unlinked only once marked, by a compare-and-swap on its
//      predecessor's unmarked link, and the one thread whose compare-and-swap succeeds frees it.
//   I5 At most one live node per key (see the linearization of Waiting).
//   I6 A walk acts on what it read from a node only after re-reading, unchanged, the link it came
//      through: then the node was in the chain, and not freed, all the while.
//   I7 Every dead node is unlinked before the operation that killed it returns: the claiming
//      arrival's walk, or Remove for a waiter that left, goes on to the end of the chain.
//
// Linearization points
//   PairOrWait -> Paired   the compare-and-swap that moves the partner's word out of its wait
//                          (Joining or Waiting to Paired). A wait can be left by one such move
//                          only (leaving, RendezvousParty.TryEndWait, is another), so a waiter is
//                          handed out at most once, and never after it left.
//   PairOrWait -> Waiting  the compare-and-swap that publishes the node at the head. It succeeds
//                          only if the head is unchanged since the start of a pass that found no
//                          live node with the key; nodes enter only at the head, and dead nodes
//                          stay dead (I2), so no partner exists at that instant.
//   PairOrWait -> Full     the read that finds no node free, taken while the head is unchanged
//                          since such a pass. Nodes are held by waiters, by dead waiters not yet
//                          unlinked (I7 bounds that), and by arrivals about to publish.
//   Remove                 the compare-and-swap that unlinks the waiter's node, by this thread or
//                          a helper; or Remove's start if the node was gone already. The wait
//                          itself ended earlier, at the waiter's move to Left.

#if PAIRING_TABLE_FLAWS
namespace Punchhole.Tests.Stress.Flawed;

/// <summary>Test-only builds: a deliberate flaw, to show that the stress test catches it.</summary>
public enum PairingTableFlaw
{
    None,

    /// <summary>Sees the waiter waiting, then moves it to Paired from whatever its word is by then.</summary>
    ClaimWithoutCompareAndSwap,

    /// <summary>Publishes at whatever the head is by then, not at the head its search started from.</summary>
    PublishWithoutRecheck,

    /// <summary>Unlinks a dead node without marking it first, so an unlink next to it can be lost.</summary>
    UnlinkWithoutMark,
}
#else
namespace Punchhole.Server;
#endif

/// <summary>
/// Waiting clients by session key, lock-free (see the invariants above). Buckets are chains of
/// waiting places pushed at the head and unlinked in the manner of Harris and Michael: a node is
/// first marked deleted in its own link, then unlinked from its predecessor, and whoever meets a
/// marked node unlinks it. Links are tagged indices into a fixed array, never references, so
/// nothing is allocated after construction. A waiter is claimed by one compare-and-swap on its own
/// phase word, the word every end of a wait moves, so exactly one actor ends each wait. The hash is
/// keyed (SipHash), so clients cannot aim for one bucket, and there are at least as many buckets
/// as places, so chains stay short.
/// </summary>
internal sealed class PairingTable
{
    private const long MarkBit = 1L << 32;
    private const long TagUnit = 1L << 33;
    private const int None = -1;

    private readonly long[] _heads;
    private readonly Node[] _nodes;
    private readonly KeyHasher _hasher;
    private long _free;
    private int _fresh;

    /// <param name="capacity">The most clients that may wait at once.</param>
    /// <param name="hasher">The keyed hash that spreads keys over the buckets.</param>
    public PairingTable(int capacity, KeyHasher hasher)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(capacity, 1 << 30);
        _hasher = hasher;
        _heads = new long[(int)BitOperations.RoundUpToPowerOf2((uint)capacity)];
        _nodes = new Node[capacity];
    }

#if PAIRING_TABLE_FLAWS
    /// <summary>The deliberate flaw of this test-only build.</summary>
    internal PairingTableFlaw Flaw { get; init; }
#endif

    /// <summary>
    /// How many clients wait now. Counted by looking at the places ever used, so it is exact while
    /// the table is quiet and a close estimate while it is busy: for statistics and tests.
    /// </summary>
    public int Count
    {
        get
        {
            int count = 0;
            int used = Math.Min(Volatile.Read(ref _fresh), _nodes.Length);
            for (int i = 0; i < used; i++)
            {
                ref Node node = ref _nodes[i];
                var party = Volatile.Read(ref node.Party);
                if (party is not null && RendezvousParty.InWait(party.Word, Volatile.Read(ref node.Stamp)))
                {
                    count++;
                }
            }
            return count;
        }
    }

    /// <summary>
    /// Pairs <paramref name="arriving"/> with the client waiting with the same key, or makes it
    /// wait. The partner is claimed by moving its phase word out of its wait, so a waiter is handed
    /// to exactly one arriving client, and a waiter that left (timed out or disconnected) never is.
    /// <paramref name="arriving"/> must be in a phase nobody else moves (pairing, or idle). On
    /// <see cref="PairingResult.Waiting"/>, an arrival may have claimed it already.
    /// </summary>
    public PairingResult PairOrWait(RendezvousParty arriving, out RendezvousParty? partner)
    {
        ref long head = ref _heads[BucketOf(arriving.Key)];
        int place = None;
        while (true)
        {
            partner = Walk(ref head, arriving, out long first);
            if (partner is not null)
            {
                if (place != None)
                {
                    Free(place);
                }
                return PairingResult.Paired;
            }
            if (place == None && (place = Allocate()) == None)
            {
                if (Volatile.Read(ref head) == first)
                {
                    return PairingResult.Full;
                }
                continue;
            }
#if PAIRING_TABLE_FLAWS
            if (Flaw == PairingTableFlaw.PublishWithoutRecheck)
            {
                Thread.Yield();
                first = Volatile.Read(ref head);
            }
#endif
            ref Node node = ref _nodes[place];
            long started = arriving.StartWait(PartyPhase.Joining);
            node.Party = arriving;
            node.Stamp = started;
            Volatile.Write(ref node.Next, Relink(node.Next, Target(first)));
            if (Interlocked.CompareExchange(ref head, Relink(first, place), first) == first)
            {
                // Fails only if an arrival claimed it already; its signal is then on the way.
                arriving.TryMove(started, PartyPhase.Waiting);
                return PairingResult.Waiting;
            }
            // Never published, so nobody else can have moved it: back to pairing, and look again.
            arriving.TryMove(started, PartyPhase.Pairing);
        }
    }

    /// <summary>
    /// Takes a waiter that left (timeout, disconnect, shutdown) out of the table, if it is still
    /// there. Its word must have moved out of its wait first (to Left): a live waiter stays.
    /// </summary>
    public void Remove(RendezvousParty waiter) => Walk(ref _heads[BucketOf(waiter.Key)], null, out _);

    /// <summary>
    /// Passes over a bucket's chain to its end: unlinks marked nodes, marks dead ones, and for an
    /// arriving party claims the live node with its key. Returns the claimed party, whose node is
    /// out of the chain by then, or null; <paramref name="first"/> is then the head as of the start
    /// of a pass that found no live node with the key (updated for nodes it unlinked at the head).
    /// </summary>
    private RendezvousParty? Walk(ref long head, RendezvousParty? arriving, out long first)
    {
        RendezvousParty? claimed = null;
        ref long link = ref head;
        long seen;
        int current;
#if PAIRING_TABLE_FLAWS
        // A flawed table can corrupt a chain into a loop: end the walk with an error, not a hang.
        int steps = 0;
#endif
    restart:
        first = seen = Volatile.Read(ref head);
        link = ref head;
        current = Target(seen);
        while (current != None)
        {
#if PAIRING_TABLE_FLAWS
            if (++steps > 1_000_000)
            {
                throw new InvalidOperationException("a chain loops: the table is corrupt");
            }
#endif
            ref Node node = ref _nodes[current];
            long next = Volatile.Read(ref node.Next);
            var party = Volatile.Read(ref node.Party);
            long stamp = Volatile.Read(ref node.Stamp);
            if (Volatile.Read(ref link) != seen)
            {
                goto restart;
            }
            if (IsMarked(next))
            {
                if (!TryUnlink(ref link, ref seen, current, next))
                {
                    goto restart;
                }
                if (Unsafe.AreSame(ref link, ref head))
                {
                    first = seen;
                }
                current = Target(next);
                continue;
            }
            long word = party!.Word;
            if (!RendezvousParty.InWait(word, stamp))
            {
#if PAIRING_TABLE_FLAWS
                if (Flaw == PairingTableFlaw.UnlinkWithoutMark)
                {
                    Thread.Yield();
                    if (!TryUnlink(ref link, ref seen, current, next))
                    {
                        goto restart;
                    }
                    first = Unsafe.AreSame(ref link, ref head) ? seen : first;
                    current = Target(next);
                    continue;
                }
#endif
                Mark(ref node, party, stamp);
                continue;
            }
            if (claimed is null && arriving is not null && party.Key == arriving.Key)
            {
                // Won or lost, the node is dead now: the next turn marks and unlinks it.
                if (TryClaim(party, word))
                {
                    claimed = party;
                }
                continue;
            }
            link = ref node.Next;
            seen = next;
            current = Target(next);
        }
        return claimed;
    }

    /// <summary>
    /// Unlinks node <paramref name="current"/>, whose link held <paramref name="next"/>, from the link
    /// that held <paramref name="seen"/>, and frees it; false if that link changed meanwhile. On
    /// success <paramref name="seen"/> is the link's new value.
    /// </summary>
    private bool TryUnlink(ref long link, ref long seen, int current, long next)
    {
        long after = Relink(seen, Target(next));
        if (Interlocked.CompareExchange(ref link, after, seen) != seen)
        {
            return false;
        }
        Free(current);
        seen = after;
        return true;
    }

    private bool TryClaim(RendezvousParty party, long word)
    {
#if PAIRING_TABLE_FLAWS
        if (Flaw == PairingTableFlaw.ClaimWithoutCompareAndSwap)
        {
            Thread.Yield();
            return party.TryMove(party.Word, PartyPhase.Paired);
        }
#endif
        return party.TryMove(word, PartyPhase.Paired);
    }

    /// <summary>Marks the node deleted, unless it is marked already or no longer holds this wait.</summary>
    private static void Mark(ref Node node, RendezvousParty party, long stamp)
    {
        while (true)
        {
            long next = Volatile.Read(ref node.Next);
            // Read after the link: a reused node gets its party and stamp before its link, so if
            // these still show this wait, the link read was this wait's link.
            if (IsMarked(next)
                || !ReferenceEquals(Volatile.Read(ref node.Party), party)
                || Volatile.Read(ref node.Stamp) != stamp)
            {
                return;
            }
            if (Interlocked.CompareExchange(ref node.Next, Relink(next, Target(next), marked: true), next) == next)
            {
                return;
            }
        }
    }

    /// <summary>Takes a free node: a recycled one if any, else a never-used one; <see cref="None"/> when every node is taken.</summary>
    private int Allocate()
    {
        while (true)
        {
            long top = Volatile.Read(ref _free);
            int index = Target(top);
            if (index == None)
            {
                int fresh = Volatile.Read(ref _fresh);
                if (fresh < _nodes.Length)
                {
                    if (Interlocked.CompareExchange(ref _fresh, fresh + 1, fresh) == fresh)
                    {
                        return fresh;
                    }
                    continue;
                }
                if (Volatile.Read(ref _free) == top)
                {
                    return None;
                }
                continue;
            }
            // If another thread takes this node meanwhile, the tag on _free has moved and this fails.
            long below = Volatile.Read(ref _nodes[index].Next);
            if (Interlocked.CompareExchange(ref _free, Relink(top, Target(below)), top) == top)
            {
                return index;
            }
        }
    }

    /// <summary>Returns a node that this thread unlinked (or never published) to the free stack. Its link stays marked while free.</summary>
    private void Free(int index)
    {
        ref Node node = ref _nodes[index];
        node.Party = null;
        node.Stamp = 0;
        while (true)
        {
            long top = Volatile.Read(ref _free);
            Volatile.Write(ref node.Next, Relink(node.Next, Target(top), marked: true));
            if (Interlocked.CompareExchange(ref _free, Relink(top, index), top) == top)
            {
                return;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int BucketOf(in SessionKey key) => (int)(key.Hash64(_hasher) & (ulong)(_heads.Length - 1));

    /// <summary>A new value for a link that held <paramref name="old"/>: to <paramref name="target"/>, its tag one up.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static long Relink(long old, int target, bool marked = false) =>
        unchecked((old & ~(TagUnit - 1)) + TagUnit) | (uint)(target + 1) | (marked ? MarkBit : 0);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Target(long link) => (int)(uint)link - 1;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool IsMarked(long link) => (link & MarkBit) != 0;

    private struct Node
    {
        public long Next;
        public long Stamp;
        public RendezvousParty? Party;
    }
}
