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

    /// <summary>Descriptors kept free for the listener, logs and the runtime when the cap comes from the open-file limit.</summary>
    public const int ReservedDescriptors = 64;

    /// <summary>The connection cap in force, given the process's open-file limit.</summary>
    public int EffectiveMaxConnections(long openFileLimit) =>
        MaxConnections > 0 ? MaxConnections
        : openFileLimit > ReservedDescriptors * 2 ? (int)Math.Min(int.MaxValue, openFileLimit - ReservedDescriptors)
        : int.MaxValue;
}
