using System.Runtime.CompilerServices;
using Punchhole.Protocol;

namespace Punchhole.Server;

/// <summary>What <see cref="PairingTable.PairOrWait"/> did with an arriving client.</summary>
internal enum PairingResult
{
    /// <summary>A waiting partner with the same key was claimed and taken out of the table.</summary>
    Paired,

    /// <summary>No partner: the client now waits in the table.</summary>
    Waiting,

    /// <summary>No partner, and the table already holds the most waiting clients allowed.</summary>
    Full,
}

/// <summary>
/// Waiting clients by session key. A fixed array of buckets, each a chain threaded through
/// the waiting sessions themselves (so adding and taking allocate nothing), each guarded by its
/// own spin lock taken with one compare-and-swap. There is no global lock: two clients contend
/// only when their keys hash to the same bucket, and the hash is keyed (SipHash) so clients
/// cannot aim for one. The bucket count is a power of two at least the waiting cap, so chains
/// stay short on average.
/// </summary>
internal sealed class PairingTable
{
    private readonly Bucket[] _buckets;
    private readonly KeyHasher _hasher;
    private readonly int _capacity;
    private int _count;

    public PairingTable(int capacity, KeyHasher hasher)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _capacity = capacity;
        _hasher = hasher;
        _buckets = new Bucket[(int)Math.Min(1 << 30, System.Numerics.BitOperations.RoundUpToPowerOf2((uint)capacity))];
    }

    /// <summary>How many clients wait now.</summary>
    public int Count => Volatile.Read(ref _count);

    public int Capacity => _capacity;

    /// <summary>
    /// Pairs <paramref name="arriving"/> with a waiting client that sent the same key, or makes it
    /// wait. A partner is claimed (its phase moved from Waiting to Paired) under the bucket lock, so a
    /// waiter is handed to exactly one arriving client, and a waiter that left (timed out or
    /// disconnected) is never handed out.
    /// </summary>
    public PairingResult PairOrWait(RendezvousParty arriving, out RendezvousParty? partner)
    {
        ref var bucket = ref BucketOf(arriving.Key);
        Lock(ref bucket);
        try
        {
            ref RendezvousParty? link = ref bucket.Head;
            while (link is not null)
            {
                var candidate = link;
                if (candidate.Key == arriving.Key)
                {
                    // Unlink whether or not the claim succeeds: a waiter that lost its claim has left.
                    link = candidate.NextInBucket;
                    candidate.NextInBucket = null;
                    Interlocked.Decrement(ref _count);
                    if (candidate.TryClaimForPairing())
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
            arriving.EnterWaiting();
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
    public void Remove(RendezvousParty waiter)
    {
        ref var bucket = ref BucketOf(waiter.Key);
        Lock(ref bucket);
        try
        {
            ref RendezvousParty? link = ref bucket.Head;
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
        public RendezvousParty? Head;
        public int Locked;
    }
}
