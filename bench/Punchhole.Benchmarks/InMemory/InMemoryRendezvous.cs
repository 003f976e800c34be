using Punchhole.Protocol;
using Punchhole.Server;

namespace Punchhole.Benchmarks.InMemory;

/// <summary>
/// The server's pairing pipeline with the sockets taken out: 32 key bytes in, parsed into a
/// <see cref="SessionKey"/>, paired or parked in the real <see cref="PairingTable"/>, the waiter
/// signalled through its pooled completion, and each side's <c>ADDR PORT</c> reply formatted.
/// It follows <c>ClientSession.Pair</c> step for step, so what it costs is what the server's hot
/// path costs, less the system calls.
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
                // As in the server: read the partner before signalling it, since its continuation runs now.
                var partnerAddress = found!.Address;
                var waiter = (InMemoryParty)found;
                waiter.Signal(PairOutcome.PairedWith(party.Address));
                PeerReply.Format(waiter.Outcome.Partner, partnerReply);
                return PeerReply.Format(partnerAddress, reply);
            case PairingResult.Waiting:
                party.Wait();
                return 0;
            default:
                throw new InvalidOperationException("The pairing table is full: size it for the keys in flight.");
        }
    }
}
