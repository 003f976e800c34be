using Punchhole.Protocol;
using Punchhole.Server;

namespace Punchhole.Tests.Stress;

/// <summary>
/// A pooled client of a stress run: one worker thread owns it and makes it arrive again and again
/// (each arrival a new generation, as the server recycles its sessions); any thread may end its
/// wait. Its address names it and its generation, so a partner's reply says exactly who sent it.
/// </summary>
internal sealed class StressParty(StressRun run, int id) : RendezvousParty
{
    /// <summary>1 from an arrival until the turn is over: paired or refused as an arrival, or its wait ended.</summary>
    public int Busy;

    public int Id { get; } = id;

    /// <summary>The index of the key it arrived with last.</summary>
    public int KeyIndex { get; private set; }

    public uint Generation => (uint)(Word >> 32);

    public static PeerAddress AddressOf(int id, uint generation) => new((ulong)id + 1, generation, 1);

    /// <summary>A new incarnation that has read <paramref name="key"/> and is about to pair, as a session after its key.</summary>
    public void Arrive(int keyIndex, in SessionKey key)
    {
        Begin(PartyPhase.Pairing);
        KeyIndex = keyIndex;
        Key = key;
        Address = AddressOf(Id, Generation);
    }

    /// <summary>
    /// What an arrival does when the waiter it claimed turns out dead: Pairing to Confirming while
    /// it asks, and back to Pairing to look again, in the same generation. Returns the word before
    /// and after, which must be equal: a move changes the phase alone.
    /// </summary>
    public (long Before, long After, bool Moved) ConfirmAndGiveUp()
    {
        long before = Word;
        bool moved = TryMove(PartyPhase.Pairing, PartyPhase.Confirming) && TryMove(PartyPhase.Confirming, PartyPhase.Pairing);
        return (before, Word, moved);
    }

    /// <summary>Registers for the end of the wait, as a waiting session does; the end may have come already.</summary>
    public void AwaitEnd() => AwaitPartner();

    protected override void OnWaitEnded(in PairOutcome outcome) => run.OnWaitEnded(this, outcome);
}
