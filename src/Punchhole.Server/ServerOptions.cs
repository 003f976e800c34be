using System.Net;
using Punchhole.Protocol;

namespace Punchhole.Server;

/// <summary>How an operator configured the server.</summary>
internal sealed record ServerOptions
{
    /// <summary>The address to listen on; null for every address, dual-stack.</summary>
    public IPAddress? Bind { get; init; }

    public int Port { get; init; } = TStun.DefaultPort;

    /// <summary>The longest a client waits for its partner.</summary>
    public TimeSpan WaitTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The longest a client may take to send its 32 key bytes.</summary>
    public TimeSpan KeyTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long an arrival that claimed a waiter waits for the waiter's TCP to acknowledge the
    /// reply sent to it; past it the waiter counts as gone. A round trip, with room for one
    /// retransmission of the reply at the shortest RTO and a slow mobile link.
    /// </summary>
    public TimeSpan ConfirmTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>The most clients that may wait unpaired at once.</summary>
    public int MaxWaiting { get; init; } = 50_000;

    /// <summary>The most connections open at once; 0 picks one from the open-file limit.</summary>
    public int MaxConnections { get; init; }

    /// <summary>The most connections open at once from one IP address; 0 for no limit.</summary>
    public int MaxPerIp { get; init; }

    /// <summary>How often the counters are logged; zero for never (SIGUSR1 still works).</summary>
    public TimeSpan StatsInterval { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// TCP_DEFER_ACCEPT: the kernel hands over a connection only once its first bytes are in (or
    /// after this long), so the key is almost always ready to read and a silent client holds no
    /// descriptor meanwhile. Zero turns it off.
    /// </summary>
    public TimeSpan DeferAccept { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Threads running .NET's socket engine. Every handler is short and runs inline on them, so
    /// one thread saturates before the kernel's TCP work does on small machines.
    /// </summary>
    public int IoThreads { get; init; } = 1;

    /// <summary>Log each connection's fate (debugging only: one line per client).</summary>
    public bool Verbose { get; init; }

    /// <summary>How often the heartbeat checks deadlines.</summary>
    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Descriptors kept free for the listener, logs and the runtime (threads, lazily loaded assemblies).</summary>
    public const int ReservedDescriptors = 64;

    /// <summary>
    /// The lowest open-file limit tstun starts with: the runtime's own descriptors, the reserve and
    /// the accept loop's spares, and room for some clients. Below it the runtime's socket engine
    /// itself may fail to start.
    /// </summary>
    public const int MinimumOpenFiles = 128;

    /// <summary>
    /// The connection cap in force: <see cref="MaxConnections"/> (unlimited when 0), but never more
    /// than the descriptors left, the open-file limit less those already in use, a reserve, and the
    /// accept loop's spares.
    /// Accepting must not exhaust the process's descriptors: the runtime needs some too (CoreCLR
    /// aborts with "Out of memory." when it cannot get one to start a thread, e.g. for a signal).
    /// </summary>
    public int EffectiveMaxConnections(long openFileLimit, int descriptorsInUse = 0)
    {
        int configured = MaxConnections > 0 ? MaxConnections : int.MaxValue;
        if (openFileLimit <= 0)
        {
            return configured;
        }
        long left = openFileLimit - Math.Max(0, descriptorsInUse) - ReservedDescriptors - AcceptLoop.SpareCount;
        return (int)Math.Clamp(left, 1, configured);
    }
}
