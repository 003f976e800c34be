using Punchhole.Protocol;
using Punchhole.Server;
using Punchhole.Tests.Stress.Flawed;
using FlawedPairingTable = Punchhole.Tests.Stress.Flawed.PairingTable;
using ServerPairingTable = Punchhole.Server.PairingTable;

namespace Punchhole.Tests.Stress;

/// <summary>A pairing table as a stress run drives it: tstun's, or the same source built with a deliberate flaw.</summary>
internal interface IStressTable
{
    int Capacity { get; }

    int Count { get; }

    PairingResult PairOrWait(RendezvousParty arriving, out RendezvousParty? partner);

    void Remove(RendezvousParty waiter);
}

/// <summary>tstun's table, exactly as the server builds it.</summary>
internal sealed class ServerTable(int capacity) : IStressTable
{
    private readonly ServerPairingTable _table = new(capacity, KeyHasher.CreateRandom());

    public int Capacity => capacity;

    public int Count => _table.Count;

    public PairingResult PairOrWait(RendezvousParty arriving, out RendezvousParty? partner) => _table.PairOrWait(arriving, out partner);

    public void Remove(RendezvousParty waiter) => _table.Remove(waiter);
}

/// <summary>The same source compiled into the tests with PAIRING_TABLE_FLAWS, with <paramref name="flaw"/> switched on.</summary>
internal sealed class FlawedTable(int capacity, PairingTableFlaw flaw) : IStressTable
{
    private readonly FlawedPairingTable _table = new(capacity, KeyHasher.CreateRandom()) { Flaw = flaw };

    public int Capacity => capacity;

    public int Count => _table.Count;

    public PairingResult PairOrWait(RendezvousParty arriving, out RendezvousParty? partner) => _table.PairOrWait(arriving, out partner);

    public void Remove(RendezvousParty waiter) => _table.Remove(waiter);
}
