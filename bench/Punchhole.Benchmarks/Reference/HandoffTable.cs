using Punchhole.Benchmarks.InMemory;
using Punchhole.Server;

namespace Punchhole.Benchmarks.Reference;

/// <summary>
/// What the handoff benchmarks need of a table. Implemented by small structs, so that a generic
/// benchmark body is compiled once per table with every call direct and inlinable: the tables
/// are compared, not an interface call.
/// </summary>
internal interface IHandoffTable
{
    PairingResult PairOrWait(InMemoryParty arriving, out RendezvousParty? partner);
}

/// <summary>The lock-free table tstun uses.</summary>
internal readonly struct LockFreeTable(PairingTable table) : IHandoffTable
{
    public PairingResult PairOrWait(InMemoryParty arriving, out RendezvousParty? partner) => table.PairOrWait(arriving, out partner);
}

/// <summary>tstun's table before the lock-free one: a CAS spin lock per bucket.</summary>
internal readonly struct SpinLockTable(SpinLockPairingTable table) : IHandoffTable
{
    public PairingResult PairOrWait(InMemoryParty arriving, out RendezvousParty? partner)
    {
        var result = table.PairOrWait(arriving, out var found);
        partner = found;
        return result;
    }
}

/// <summary>One Dictionary behind one plain lock.</summary>
internal readonly struct PlainLockTable(LockedPairingTable table) : IHandoffTable
{
    public PairingResult PairOrWait(InMemoryParty arriving, out RendezvousParty? partner)
    {
        var result = table.PairOrWait(arriving, out var found);
        partner = found;
        return result;
    }
}
