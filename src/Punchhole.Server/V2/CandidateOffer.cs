using Microsoft.Extensions.ObjectPool;
using Punchhole.Protocol;
using Punchhole.Protocol.V2;

namespace Punchhole.Server;

/// <summary>
/// What one v2 client offered in its <c>CAND</c> line, and the relay token it is given when it
/// pairs: held from the client's key to its close, so that its partner's <c>PEER</c> line can carry
/// its candidates. Pooled; a few hundred bytes, with the candidates inline.
/// </summary>
internal sealed class CandidateOffer
{
    /// <summary>What the client asked for.</summary>
    public ClientFlags Flags;

    /// <summary>The client's candidate addresses, passed on to its partner as they came.</summary>
    public CandidateList Candidates;

    /// <summary>The client's own relay token once paired with one; empty otherwise.</summary>
    public RelayToken Token;

    /// <summary>Where <see cref="Token"/> is presented, when not at the server the client reached (port 0 then).</summary>
    public PeerAddress RelayAt;

    /// <summary>The relay reservation that holds <see cref="Token"/>; -1 for none.</summary>
    public int Reservation = -1;

    /// <summary>Bytes of the <c>CAND</c> line read so far.</summary>
    public int Received;

    public bool RelayOk => (Flags & ClientFlags.RelayOk) != 0;

    public bool Exclusive => (Flags & ClientFlags.Exclusive) != 0;

    public static ObjectPool<CandidateOffer> CreatePool() => new DefaultObjectPool<CandidateOffer>(new Policy(), maximumRetained: 4096);

    private sealed class Policy : PooledObjectPolicy<CandidateOffer>
    {
        public override CandidateOffer Create() => new();

        public override bool Return(CandidateOffer offer)
        {
            offer.Flags = ClientFlags.None;
            offer.Candidates.Clear();
            offer.Token = default;
            offer.RelayAt = default;
            offer.Reservation = -1;
            offer.Received = 0;
            return true;
        }
    }
}
