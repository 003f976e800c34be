using System.Runtime.CompilerServices;
using Punchhole.Protocol;
#if SPIN_LOCK_PAIRING_TABLE
// Built into tstun in place of the lock-free table, for end-to-end comparisons only:
//   dotnet publish src/Punchhole.Server -p:PairingTable=SpinLock   (scripts/build-tstun-spinlock.sh)
// The server's code names the table PairingTable; the project file aliases it to this class.
using Party = Punchhole.Server.RendezvousParty;
#else
using Party = Punchhole.Benchmarks.InMemory.InMemoryParty;
#endif
using Punchhole.Server;

namespace Punchhole.Benchmarks.Reference;

/// <summary>
/// The reference the lock-free <see cref="PairingTable"/> is measured against: tstun's table before
/// it, kept as it was. A fixed array of buckets, each a chain threaded through the waiting parties
/// themselves, each guarded by its own spin lock taken with one compare-and-swap. No global lock,
/// but not lock-free: a holder preempted inside its few instructions makes every contender for that
/// bucket spin until it runs again.
/// </summary>
internal sealed class SpinLockPairingTable
{
    private readonly Bucket[] _buckets;
    private readonly KeyHasher _hasher;
    private readonly int _capacity;
    private int _count;

    public SpinLockPairingTable(int capacity, KeyHasher hasher)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _capacity = capacity;
        _hasher = hasher;
        _buckets = new Bucket[(int)Math.Min(1 << 30, System.Numerics.BitOperations.RoundUpToPowerOf2((uint)capacity))];
    }

    /// <summary>How many clients wait now.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>
    /// Pairs <paramref name="arriving"/> with a waiting client that sent the same key, or makes it
    /// wait. A partner is claimed (its phase moved from Waiting to Paired) under the bucket lock.
    /// </summary>
    /// <summary>
    /// As the lock-free table's: an <paramref name="exclusive"/> arrival claims nobody and gets
    /// <see cref="PairingResult.Collision"/> when a live client waits with its key.
    /// </summary>
    public PairingResult PairOrWait(Party arriving, out Party? partner, bool exclusive = false)
    {
        ref var bucket = ref BucketOf(arriving.Key);
        Lock(ref bucket);
        try
        {
            ref Party? link = ref bucket.Head;
            while (link is not null)
            {
                var candidate = link;
                if (candidate.Key == arriving.Key && exclusive)
                {
                    if (RendezvousParty.PhaseOf(candidate.Word) == PartyPhase.Waiting)
                    {
                        partner = null;
                        return PairingResult.Collision;
                    }
                    link = ref candidate.NextInBucket;
                    continue;
                }
                if (candidate.Key == arriving.Key)
                {
                    // Unlink whether or not the claim succeeds: a waiter that lost its claim has left.
                    link = candidate.NextInBucket;
                    candidate.NextInBucket = null;
                    Interlocked.Decrement(ref _count);
                    long word = candidate.Word;
                    if (RendezvousParty.PhaseOf(word) == PartyPhase.Waiting && candidate.TryMove(word, PartyPhase.Paired))
                    {
                        partner = candidate;
                        return PairingResult.Paired;
                    }
                    continue;
                }
                link = ref candidate.NextInBucket;
            }

            partner = null;
            if (Interlocked.Increment(ref _count) > _capacity)
            {
                Interlocked.Decrement(ref _count);
                return PairingResult.Full;
            }
            arriving.StartWait(PartyPhase.Waiting);
            arriving.NextInBucket = bucket.Head;
            bucket.Head = arriving;
            return PairingResult.Waiting;
        }
        finally
        {
            Unlock(ref bucket);
        }
    }

    /// <summary>Takes a waiter that left (timeout, disconnect, shutdown) out of the table, if it is still there.</summary>
    public void Remove(Party waiter)
    {
        ref var bucket = ref BucketOf(waiter.Key);
        Lock(ref bucket);
        try
        {
            ref Party? link = ref bucket.Head;
            while (link is not null)
            {
                if (ReferenceEquals(link, waiter))
                {
                    link = waiter.NextInBucket;
                    waiter.NextInBucket = null;
                    Interlocked.Decrement(ref _count);
                    return;
                }
                link = ref link.NextInBucket;
            }
        }
        finally
        {
            Unlock(ref bucket);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ref Bucket BucketOf(in SessionKey key) =>
        ref _buckets[(int)(key.Hash64(_hasher) & (ulong)(_buckets.Length - 1))];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Lock(ref Bucket bucket)
    {
        if (Interlocked.CompareExchange(ref bucket.Locked, 1, 0) != 0)
        {
            LockContended(ref bucket);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void LockContended(ref Bucket bucket)
    {
        var spinner = new SpinWait();
        do
        {
            spinner.SpinOnce();
        }
        while (Interlocked.CompareExchange(ref bucket.Locked, 1, 0) != 0);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Unlock(ref Bucket bucket) => Volatile.Write(ref bucket.Locked, 0);

    private struct Bucket
    {
        public Party? Head;
        public int Locked;
    }
}
