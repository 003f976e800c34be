using System.Text;

namespace Punchhole.Server;

/// <summary>Whether a value of the stats line only grows (a counter) or is a current value (a gauge).</summary>
internal enum StatKind
{
    Counter,
    Gauge,
}

/// <summary>
/// One value of the stats line: its name there, what it means, and its Prometheus name, which
/// follows from the stats name (<c>tstun_NAME_total</c> for a counter, <c>tstun_NAME</c> for a
/// gauge) unless a unit changes it.
/// </summary>
internal sealed record Stat(string Name, StatKind Kind, string Help, string? MetricOverride = null, long MetricScale = 1)
{
    public string MetricName => MetricOverride ?? (Kind == StatKind.Counter ? $"tstun_{Name}_total" : $"tstun_{Name}");
}

/// <summary>A stat and its value at one moment.</summary>
internal readonly record struct StatValue(Stat Stat, long Value);

/// <summary>What the server has done since it started, for the operator's summary line and the metrics endpoint.</summary>
internal sealed class ServerCounters
{
    public long Accepted;
    public long Pairs;
    public long TimedOut;
    public long KeyTimedOut;
    public long BadKeys;
    public long Disconnected;
    public long DeadWaiters;
    public long RejectedWaiting;
    public long RejectedConnections;
    public long RejectedPerIp;
    public long RejectedPerSource;
    public long ProxyRejected;
    public long HealthChecks;
    public long AcceptPauses;
    public long Active;
    /// <summary>Clients of this instance paired with a client of another (tstun --redis); not in Pairs.</summary>
    public long CrossPaired;
    public long RedisErrors;

    // T-STUN/2 (docs/PROTOCOL.md): v2 rendezvous connections and how they ended besides pairing.
    public long Version2Clients;
    public long BadLines;
    public long Collisions;

    // The relay (tstun --relay): tokens offered at pairing, legs refused, sessions and their ends.
    public long RelayOffered;
    public long RelayUnoffered;
    public long RelayRefused;
    public long RelayRejectedBusy;
    public long RelayRejectedPerIp;
    public long RelayLegTimeouts;
    public long RelayJoined;
    public long RelayEnded;
    public long RelayAborted;
    public long RelayBytesCapped;
    public long RelayTimeCapped;
    public long RelayThrottled;
    public long RelayBytes;
    public long RelayActive;
    public long RelayPipeRefused;
    public long RelayPipePages;

    /// <summary>The stats line's values in their order; every one is also a metric.</summary>
    public static IReadOnlyList<Stat> Stats { get; } =
    [
        new("accepted", StatKind.Counter, "Connections accepted."),
        new("paired", StatKind.Counter, "Pairs completed (two clients each)."),
        new("timed_out", StatKind.Counter, "Waiting clients closed at --timeout with no partner."),
        new("key_timeouts", StatKind.Counter, "Clients closed because their key (after the PROXY header, if any) did not arrive within --key-timeout."),
        new("bad_keys", StatKind.Counter, "Clients that sent fewer than 32 bytes, then EOF or a reset."),
        new("disconnected", StatKind.Counter, "Waiting clients that reset."),
        new("dead_waiters", StatKind.Counter, "Waiting clients found gone when a partner arrived."),
        new("rejected_waiting", StatKind.Counter, "Clients refused because --max-waiting clients were waiting."),
        new("rejected_connections", StatKind.Counter, "Connections refused at --max-connections."),
        new("rejected_per_ip", StatKind.Counter, "Connections refused at --max-per-ip."),
        new("rejected_per_source", StatKind.Counter, "Clients refused because their source (an IPv4 address or an IPv6 /64) held its share of the waiting table (--max-waiting-per-source)."),
        new("proxy_rejected", StatKind.Counter, "Connections closed for an untrusted source, or a missing, malformed or partial PROXY header (--proxy-protocol)."),
        new("health_checks", StatKind.Counter, "Connections from a trusted proxy that carried no client: LOCAL, UNKNOWN, or closed before any byte (--proxy-protocol)."),
        new("accept_pauses", StatKind.Counter, "Times accepting paused because descriptors ran out (EMFILE or ENFILE)."),
        new("active", StatKind.Gauge, "Open client connections."),
        new("waiting", StatKind.Gauge, "Clients waiting for a partner."),
        new("v2_clients", StatKind.Counter, "Connections that sent a T-STUN/2 key (and got the hello)."),
        new("bad_lines", StatKind.Counter, "T-STUN/2 clients closed with no reply: their CAND line was missing, malformed, too long or followed by more bytes."),
        new("collisions", StatKind.Counter, "T-STUN/2 clients that asked to be first of a pair while a client with their key waited (answered COLLISION)."),
        new("relay_offered", StatKind.Counter, "Pairs given relay tokens."),
        new("relay_unoffered", StatKind.Counter, "Pairs that asked for relay tokens but got none (every reservation taken)."),
        new("relay_refused", StatKind.Counter, "Relay legs refused for their token (unknown, expired, used) or because the relay is off."),
        new("relay_rejected_busy", StatKind.Counter, "Relay legs refused at --relay-max."),
        new("relay_rejected_per_ip", StatKind.Counter, "Relay legs refused at --relay-max-per-ip."),
        new("relay_leg_timeouts", StatKind.Counter, "Relay legs whose partner did not come within --relay-wait."),
        new("relay_joined", StatKind.Counter, "Relayed sessions joined."),
        new("relay_ended", StatKind.Counter, "Relayed sessions ended, for any reason."),
        new("relay_aborted", StatKind.Counter, "Relayed sessions ended by a reset or error on a leg."),
        new("relay_bytes_capped", StatKind.Counter, "Relayed sessions reset at --relay-max-mib."),
        new("relay_time_capped", StatKind.Counter, "Relayed sessions reset at --relay-max-time."),
        new("relay_throttled", StatKind.Counter, "Times a relayed session waited for the --relay-mbit ceiling."),
        new("relay_bytes", StatKind.Counter, "Bytes relayed, both ways, all sessions."),
        new("relay_active", StatKind.Gauge, "Relayed sessions running now."),
        new("relay_pipe_refused", StatKind.Counter, "Times a busy relayed session's pipe could not grow to 1 MiB (the user's pipe page budget); it relays on at the size it has."),
        new("relay_pipe_pages", StatKind.Gauge, "Pages the relay's pipes hold against the user's pipe page budget (fs.pipe-user-pages-soft)."),
        new("cross_paired", StatKind.Counter, "Clients of this instance paired with a client of another instance (tstun --redis)."),
        new("redis_errors", StatKind.Counter, "Redis commands or connections that failed (tstun --redis)."),
        new("heap_kb", StatKind.Gauge, "Managed heap in use, in bytes.", "tstun_heap_bytes", 1024),
        new("committed_kb", StatKind.Gauge, "Managed heap memory committed, in bytes.", "tstun_committed_bytes", 1024),
        new("gcs", StatKind.Counter, "Garbage collections since start."),
        new("alloc_bytes", StatKind.Counter, "Managed bytes allocated since start."),
    ];

    public static void Add(ref long counter) => Interlocked.Increment(ref counter);

    /// <summary>Every value of the stats line now, in <see cref="Stats"/> order.</summary>
    public StatValue[] Read(int waiting)
    {
        long[] values =
        [
            Volatile.Read(ref Accepted),
            Volatile.Read(ref Pairs),
            Volatile.Read(ref TimedOut),
            Volatile.Read(ref KeyTimedOut),
            Volatile.Read(ref BadKeys),
            Volatile.Read(ref Disconnected),
            Volatile.Read(ref DeadWaiters),
            Volatile.Read(ref RejectedWaiting),
            Volatile.Read(ref RejectedConnections),
            Volatile.Read(ref RejectedPerIp),
            Volatile.Read(ref RejectedPerSource),
            Volatile.Read(ref ProxyRejected),
            Volatile.Read(ref HealthChecks),
            Volatile.Read(ref AcceptPauses),
            Volatile.Read(ref Active),
            waiting,
            Volatile.Read(ref Version2Clients),
            Volatile.Read(ref BadLines),
            Volatile.Read(ref Collisions),
            Volatile.Read(ref RelayOffered),
            Volatile.Read(ref RelayUnoffered),
            Volatile.Read(ref RelayRefused),
            Volatile.Read(ref RelayRejectedBusy),
            Volatile.Read(ref RelayRejectedPerIp),
            Volatile.Read(ref RelayLegTimeouts),
            Volatile.Read(ref RelayJoined),
            Volatile.Read(ref RelayEnded),
            Volatile.Read(ref RelayAborted),
            Volatile.Read(ref RelayBytesCapped),
            Volatile.Read(ref RelayTimeCapped),
            Volatile.Read(ref RelayThrottled),
            Volatile.Read(ref RelayBytes),
            Volatile.Read(ref RelayActive),
            Volatile.Read(ref RelayPipeRefused),
            Volatile.Read(ref RelayPipePages),
            Volatile.Read(ref CrossPaired),
            Volatile.Read(ref RedisErrors),
            GC.GetTotalMemory(forceFullCollection: false) / 1024,
            GC.GetGCMemoryInfo().TotalCommittedBytes / 1024,
            GC.CollectionCount(0),
            // Managed bytes allocated since start: two summaries and their paired= give bytes per pairing.
            GC.GetTotalAllocatedBytes(precise: false),
        ];
        var read = new StatValue[Stats.Count];
        for (int i = 0; i < read.Length; i++)
        {
            read[i] = new StatValue(Stats[i], values[i]);
        }
        return read;
    }

    /// <summary>One line: every value as name=value, for logs and for scripts that grep them.</summary>
    public string Summary(int waiting)
    {
        var line = new StringBuilder(384).Append("stats");
        foreach (var (stat, value) in Read(waiting))
        {
            line.Append(' ').Append(stat.Name).Append('=').Append(value);
        }
        return line.ToString();
    }
}
