using Punchhole.Protocol;
using Punchhole.Server;

namespace Punchhole.Benchmarks.InMemory;

/// <summary>
/// The server's pairing pipeline with the sockets taken out: 32 key bytes in, parsed into a
/// <see cref="SessionKey"/>, paired or parked in the real <see cref="PairingTable"/>, each side's
/// <c>ADDR PORT</c> reply formatted and the waiter signalled through its pooled completion.
/// It follows <c>ClientSession.Pair</c> step for step, so what it costs is what the server's hot
/// path costs, less the system calls (the sends and the acknowledgement probe).
/// </summary>
internal sealed class InMemoryRendezvous
{
    public InMemoryRendezvous(int capacity) => Table = new PairingTable(capacity, KeyHasher.CreateRandom());

    public PairingTable Table { get; }

    /// <summary>
    /// One client arrives with <paramref name="wireKey"/>. When it completes a pair, both replies
    /// are written (its own into <paramref name="reply"/>, its partner's into <paramref name="partnerReply"/>)
    /// and the reply length is returned; when it has to wait, 0.
    /// </summary>
    public int Arrive(InMemoryParty party, ReadOnlySpan<byte> wireKey, Span<byte> reply, Span<byte> partnerReply)
    {
        party.Arrive(SessionKey.Read(wireKey));
        switch (Table.PairOrWait(party, out var found))
        {
            case PairingResult.Paired:
                // As in the server: the waiter's reply first (where the server then asks whether the
                // waiter's TCP acknowledged it), and the waiter read before it is signalled, since
                // its continuation runs now.
                var waiter = (InMemoryParty)found!;
                PeerReply.Format(party.Address, partnerReply);
                var partnerAddress = waiter.Address;
                waiter.Signal(PairOutcome.PairedWith(party.Address));
                return PeerReply.Format(partnerAddress, reply);
            case PairingResult.Waiting:
                party.Wait();
                return 0;
            default:
                throw new InvalidOperationException("The pairing table is full: size it for the keys in flight.");
        }
    }
}
