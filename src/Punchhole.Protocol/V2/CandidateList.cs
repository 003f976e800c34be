using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace Punchhole.Protocol.V2;

/// <summary>
/// Up to <see cref="TStun2.MaxCandidates"/> candidate addresses, held inline (no array): what a
/// <c>CAND</c> line offers and a <c>PEER</c> line passes on. A mutable struct: keep it in a field or
/// a local and pass it by reference.
/// </summary>
public struct CandidateList
{
    private Items _items;
    private int _count;

    /// <summary>How many candidates it holds.</summary>
    public readonly int Count => _count;

    /// <summary>Adds <paramref name="candidate"/>; false (and nothing added) when it is full.</summary>
    public bool TryAdd(in PeerAddress candidate)
    {
        if (_count == TStun2.MaxCandidates)
        {
            return false;
        }
        _items[_count++] = candidate;
        return true;
    }

    /// <summary>Empties it.</summary>
    public void Clear() => _count = 0;

    /// <summary>Replaces the contents with <paramref name="candidates"/>' first <see cref="TStun2.MaxCandidates"/>.</summary>
    public void CopyFrom(ReadOnlySpan<PeerAddress> candidates)
    {
        _count = Math.Min(candidates.Length, TStun2.MaxCandidates);
        candidates[.._count].CopyTo(_items);
    }

    /// <summary>The candidates, in the order they were added.</summary>
    [UnscopedRef]
    public readonly ReadOnlySpan<PeerAddress> AsSpan() => ((ReadOnlySpan<PeerAddress>)_items)[.._count];

    [InlineArray(TStun2.MaxCandidates)]
    private struct Items
    {
        private PeerAddress _first;
    }
}
