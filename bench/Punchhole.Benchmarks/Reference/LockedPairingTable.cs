using Punchhole.Benchmarks.InMemory;
using Punchhole.Protocol;
using Punchhole.Server;

namespace Punchhole.Benchmarks.Reference;

/// <summary>
/// The plainest correct table: one <see cref="Dictionary{TKey, TValue}"/> behind one lock, with the
/// same pooled parties and handoff as the other tables, so that the benchmarks compare how the
/// tables synchronise and nothing else. (<c>Naive.LockedWaiterTable</c> also allocates a completion per waiter.)
/// </summary>
internal sealed class LockedPairingTable(int capacity)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<SessionKey, InMemoryParty> _waiting = new(capacity);

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _waiting.Count;
            }
        }
    }

    public PairingResult PairOrWait(InMemoryParty arriving, out InMemoryParty? partner)
    {
        lock (_gate)
        {
            if (_waiting.Remove(arriving.Key, out partner))
            {
                long word = partner.Word;
                if (RendezvousParty.PhaseOf(word) == PartyPhase.Waiting && partner.TryMove(word, PartyPhase.Paired))
                {
                    return PairingResult.Paired;
                }
                // It left, and its Remove has not run yet: it is out now all the same.
            }
            partner = null;
            if (_waiting.Count >= capacity)
            {
                return PairingResult.Full;
            }
            arriving.StartWait(PartyPhase.Waiting);
            _waiting.Add(arriving.Key, arriving);
            return PairingResult.Waiting;
        }
    }

    public void Remove(InMemoryParty waiter)
    {
        lock (_gate)
        {
            if (_waiting.TryGetValue(waiter.Key, out var found) && ReferenceEquals(found, waiter))
            {
                _waiting.Remove(waiter.Key);
            }
        }
    }
}
