using System.Numerics;
using Punchhole.Protocol;

namespace Punchhole.Server;

/// <summary>
/// How many clients each source (an IPv4 address, or an IPv6 /64) has waiting, so that no source
/// holds more than its share of the waiting table (--max-waiting-per-source). Lock-free and fixed
/// in size: two rows of counters, each source counted in one counter of each row, chosen by a keyed
/// hash (clients cannot choose addresses that share counters with a victim's). A counter holds the
/// sum of every source hashed to it, so it can only over-count; a source is refused when both its
/// counters are over the cap, which for a source that holds less than its share needs other sources
/// at the cap in both its counters. Costs two atomic additions when a client starts to wait and two
/// when it stops; pairing without waiting costs nothing.
/// </summary>
internal sealed class WaitingShares
{
    private readonly int[] _counts;
    private readonly int _rowMask;
    private readonly int _limit;
    private readonly KeyHasher _hasher = KeyHasher.CreateRandom();

    /// <param name="limit">The most waiting clients per source.</param>
    /// <param name="maxWaiting">The waiting table's size, which sizes the rows.</param>
    public WaitingShares(int limit, int maxWaiting)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        _limit = limit;
        // At most maxWaiting / limit counters of a row can be over the cap at once; rows 256 times
        // that size leave an honest source about one chance in 65,536 to share both of its counters
        // with such sources, and then only while the table is full of them.
        long saturated = Math.Max(1, maxWaiting / Math.Max(1, limit));
        int row = (int)Math.Clamp(BitOperations.RoundUpToPowerOf2((ulong)(saturated * 256)), 1024, 1 << 20);
        _rowMask = row - 1;
        _counts = new int[2 * row];
    }

    /// <summary>Counts one more waiting client from <paramref name="client"/>'s source; false (and nothing counted) past the cap.</summary>
    public bool TryEnter(in PeerAddress client)
    {
        var (first, second) = Counters(client);
        int a = Interlocked.Increment(ref _counts[first]);
        int b = Interlocked.Increment(ref _counts[second]);
        if (Math.Min(a, b) <= _limit)
        {
            return true;
        }
        Interlocked.Decrement(ref _counts[first]);
        Interlocked.Decrement(ref _counts[second]);
        return false;
    }

    /// <summary>One waiting client from <paramref name="client"/>'s source stopped waiting.</summary>
    public void Leave(in PeerAddress client)
    {
        var (first, second) = Counters(client);
        Interlocked.Decrement(ref _counts[first]);
        Interlocked.Decrement(ref _counts[second]);
    }

    private (int First, int Second) Counters(in PeerAddress client)
    {
        ulong hash = _hasher.Hash64(client.SourceBlock());
        return ((int)hash & _rowMask, _rowMask + 1 + ((int)(hash >> 32) & _rowMask));
    }
}
