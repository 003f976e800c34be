using System.Text;

namespace Punchhole.Server;

/// <summary>What the server has done since it started, for the operator's summary line.</summary>
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
    public long AcceptPauses;
    public long Active;

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

    public static void Add(ref long counter) => Interlocked.Increment(ref counter);

    /// <summary>One line: every counter as name=value, for logs and for scripts that grep them.</summary>
    public string Summary(int waiting)
    {
        var line = new StringBuilder(768);
        line.Append("stats accepted=").Append(Volatile.Read(ref Accepted))
            .Append(" paired=").Append(Volatile.Read(ref Pairs))
            .Append(" timed_out=").Append(Volatile.Read(ref TimedOut))
            .Append(" key_timeouts=").Append(Volatile.Read(ref KeyTimedOut))
            .Append(" bad_keys=").Append(Volatile.Read(ref BadKeys))
            .Append(" disconnected=").Append(Volatile.Read(ref Disconnected))
            .Append(" dead_waiters=").Append(Volatile.Read(ref DeadWaiters))
            .Append(" rejected_waiting=").Append(Volatile.Read(ref RejectedWaiting))
            .Append(" rejected_connections=").Append(Volatile.Read(ref RejectedConnections))
            .Append(" rejected_per_ip=").Append(Volatile.Read(ref RejectedPerIp))
            .Append(" accept_pauses=").Append(Volatile.Read(ref AcceptPauses))
            .Append(" active=").Append(Volatile.Read(ref Active))
            .Append(" waiting=").Append(waiting)
            .Append(" v2_clients=").Append(Volatile.Read(ref Version2Clients))
            .Append(" bad_lines=").Append(Volatile.Read(ref BadLines))
            .Append(" collisions=").Append(Volatile.Read(ref Collisions))
            .Append(" relay_offered=").Append(Volatile.Read(ref RelayOffered))
            .Append(" relay_unoffered=").Append(Volatile.Read(ref RelayUnoffered))
            .Append(" relay_refused=").Append(Volatile.Read(ref RelayRefused))
            .Append(" relay_rejected_busy=").Append(Volatile.Read(ref RelayRejectedBusy))
            .Append(" relay_rejected_per_ip=").Append(Volatile.Read(ref RelayRejectedPerIp))
            .Append(" relay_leg_timeouts=").Append(Volatile.Read(ref RelayLegTimeouts))
            .Append(" relay_joined=").Append(Volatile.Read(ref RelayJoined))
            .Append(" relay_ended=").Append(Volatile.Read(ref RelayEnded))
            .Append(" relay_aborted=").Append(Volatile.Read(ref RelayAborted))
            .Append(" relay_bytes_capped=").Append(Volatile.Read(ref RelayBytesCapped))
            .Append(" relay_time_capped=").Append(Volatile.Read(ref RelayTimeCapped))
            .Append(" relay_throttled=").Append(Volatile.Read(ref RelayThrottled))
            .Append(" relay_bytes=").Append(Volatile.Read(ref RelayBytes))
            .Append(" relay_active=").Append(Volatile.Read(ref RelayActive))
            .Append(" heap_kb=").Append(GC.GetTotalMemory(forceFullCollection: false) / 1024)
            .Append(" committed_kb=").Append(GC.GetGCMemoryInfo().TotalCommittedBytes / 1024)
            .Append(" gcs=").Append(GC.CollectionCount(0))
            // Managed bytes allocated since start: two summaries and their paired= give bytes per pairing.
            .Append(" alloc_bytes=").Append(GC.GetTotalAllocatedBytes(precise: false));
        return line.ToString();
    }
}
