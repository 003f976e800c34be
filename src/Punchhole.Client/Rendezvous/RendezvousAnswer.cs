using System.Net;
using Punchhole.Protocol;
using Punchhole.Protocol.V2;

namespace Punchhole.Client.Rendezvous;

/// <summary>Which protocol the T-STUN server answered in.</summary>
internal enum ServerKind
{
    /// <summary>
    /// Version 1: <c>ADDR PORT</c> alone. The original server answers every key so, a v2 key
    /// included; it offers no candidates and no relay.
    /// </summary>
    Version1,

    /// <summary>T-STUN/2: a hello with this side's own observed address, then a <c>PEER</c> line.</summary>
    Version2,
}

/// <summary>
/// What one rendezvous learnt: the peer's observed address (what the punch aims at) and, from a
/// T-STUN/2 server, this side's own observed address, whether the server runs its relay, this
/// side's relay token and the peer's local candidates.
/// </summary>
internal sealed record RendezvousAnswer(IPEndPoint Peer, ServerKind Server)
{
    /// <summary>This side's address as the server saw it (T-STUN/2 only).</summary>
    public IPEndPoint? Observed { get; init; }

    /// <summary>The server's hello said it runs its relay (T-STUN/2 only).</summary>
    public bool RelayOffered { get; init; }

    /// <summary>This side's relay token; empty unless the server offered the relay to this pair.</summary>
    public RelayToken Token { get; init; }

    /// <summary>Where to present <see cref="Token"/> when the server named a relay of its own (several instances); null: the server itself.</summary>
    public IPEndPoint? RelayServer { get; init; }

    /// <summary>The peer's local addresses with its punch port, in this side's address family.</summary>
    public IReadOnlyList<IPEndPoint> Candidates { get; init; } = [];

    /// <summary>
    /// Both sides' observed addresses as the server wrote them, this side's first (T-STUN/2 only).
    /// The peer holds the same two, the other way round: the facts both sides agree on.
    /// </summary>
    public (PeerAddress Self, PeerAddress Peer)? Seen { get; init; }

    /// <summary>How many candidates this side sent in its <c>CAND</c> line.</summary>
    public int CandidatesSent { get; init; }

    /// <summary>How many candidates the peer sent, of either family (the <c>PEER</c> line's count).</summary>
    public int CandidatesReceived { get; init; }

    /// <summary>An answer from the original protocol: the peer's address and nothing else.</summary>
    public static RendezvousAnswer Version1(IPEndPoint peer) => new(peer, ServerKind.Version1);
}
