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

    public static void Add(ref long counter) => Interlocked.Increment(ref counter);

    /// <summary>One line: every counter as name=value, for logs and for scripts that grep them.</summary>
    public string Summary(int waiting)
    {
        var line = new StringBuilder(256);
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
            .Append(" heap_kb=").Append(GC.GetTotalMemory(forceFullCollection: false) / 1024)
            .Append(" committed_kb=").Append(GC.GetGCMemoryInfo().TotalCommittedBytes / 1024)
            .Append(" gcs=").Append(GC.CollectionCount(0))
            // Managed bytes allocated since start: two summaries and their paired= give bytes per pairing.
            .Append(" alloc_bytes=").Append(GC.GetTotalAllocatedBytes(precise: false));
        return line.ToString();
    }
}
