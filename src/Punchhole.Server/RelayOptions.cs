namespace Punchhole.Server;

/// <summary>
/// The relay's switch and caps (README, "The relay"). Every cap has a counter in the stats line.
/// The defaults suit a public server on a 1 Gbit/s link: relaying is the fallback of last resort,
/// so a session may carry a large file but no single user may hold the relay for long.
/// </summary>
internal sealed record RelayOptions
{
    /// <summary>Descriptors a relayed session holds besides its two connections: two pipes for splice(2).</summary>
    public const int PipeDescriptorsPerSession = 4;

    /// <summary>How long a relay token stays valid for its leg's first arrival after the pairing that issued it.</summary>
    public static readonly TimeSpan TokenLifetime = TimeSpan.FromSeconds(60);

    /// <summary>Relay for v2 clients that both said <c>relay-ok</c>.</summary>
    public bool Enabled { get; init; }

    /// <summary>Relayed sessions (pairs of joined legs) at once.</summary>
    public int MaxSessions { get; init; } = 1000;

    /// <summary>Relay legs (waiting or joined) open from one IP address at once.</summary>
    public int MaxPerIp { get; init; } = 16;

    /// <summary>Bytes one session may carry, both directions together; past it both legs are reset.</summary>
    public long MaxBytes { get; init; } = 2L << 30;

    /// <summary>How long one session may last; past it both legs are reset.</summary>
    public TimeSpan MaxDuration { get; init; } = TimeSpan.FromHours(1);

    /// <summary>Bytes a second across every session (a token bucket); 0 for no ceiling.</summary>
    public long BytesPerSecond { get; init; } = 100_000_000 / 8;

    /// <summary>How long the first leg of a session waits for the second.</summary>
    public TimeSpan JoinTimeout { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// Where clients reach this instance's relay when that is not the address they reached the
    /// server at (several instances behind one balancer: each instance's own address, or its own
    /// port on the balancer). When set, every token this instance issues is sent with it, and
    /// pairs formed across instances (--redis) are offered the relay of the instance whose client waited.
    /// </summary>
    public System.Net.IPEndPoint? PublicAddress { get; init; }

    /// <summary><see cref="PublicAddress"/> as the <c>PEER</c> line writes it; port 0 when not set.</summary>
    public Punchhole.Protocol.PeerAddress PublicPeerAddress =>
        PublicAddress is { } address ? Punchhole.Protocol.PeerAddress.FromEndPoint(address) : default;

    /// <summary>Reservations (issued token pairs not yet used or expired) held at once: past it, pairs get no token.</summary>
    public int MaxReservations => Math.Max(1024, MaxSessions * 16);
}
