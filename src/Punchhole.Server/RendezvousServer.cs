using System.Net;
using System.Net.Sockets;
using Punchhole.Protocol;
using Punchhole.Server.Metrics;
using Punchhole.Server.Proxy;

namespace Punchhole.Server;

/// <summary>
/// The T-STUN server: a listener, an accept loop, a table of waiting clients, one heartbeat for
/// every wait and key deadline, and a watcher thread for waiting clients that reset, which also
/// polls the claimed waiters whose acknowledgement is pending. Start once; Stop is idempotent.
/// </summary>
internal sealed class RendezvousServer : IDisposable
{
    private readonly SessionPool _sessions;
    private readonly PerAddressLimit _perAddress;
    private readonly WaitingShares? _shares;
    private readonly Heartbeat _heartbeat;
    private readonly int _maxConnections;
    private AcceptLoop? _acceptLoop;
    private MetricsEndpoint? _metricsEndpoint;
    private const long PauseLogInterval = 60_000;
    private long _nextSummary;
    private long _nextPauseLog;
    private int _stopping;

    public RendezvousServer(ServerOptions options, ServerLog log, long openFileLimit = -1, int descriptorsInUse = 0)
    {
        Options = options;
        Log = log;
        _maxConnections = options.EffectiveMaxConnections(openFileLimit, descriptorsInUse);
        if (options.MaxConnections > _maxConnections)
        {
            log.Info($"--max-connections {options.MaxConnections} is more than the open-file limit ({openFileLimit}) allows "
                + $"with {descriptorsInUse} descriptors in use and {ServerOptions.ReservedDescriptors + AcceptLoop.SpareCount} reserved: using {_maxConnections}");
        }
        Table = new PairingTable(options.MaxWaiting, KeyHasher.CreateRandom());
        _sessions = new SessionPool(id => new ClientSession(this, id));
        _perAddress = new PerAddressLimit(options.MaxPerIp);
        if (options.EffectiveMaxWaitingPerSource > 0)
        {
            _shares = new WaitingShares(options.EffectiveMaxWaitingPerSource, options.MaxWaiting);
        }
        Proxy = options.ProxyProtocol ? new ProxyProtocol(options.TrustedProxies) : null;
        Metrics = options.Metrics is null ? null : new ServerMetrics();
        _heartbeat = new Heartbeat(options.HeartbeatInterval, OnHeartbeat);
        Confirmations = new PendingConfirmations(() => Watcher!.Wake());
        Watcher = new DisconnectWatcher(OnReset, Confirmations.Poll);
        Relay = options.Relay.Enabled ? new RelayService(options.Relay, Counters, log) : null;
        Cluster = options.Redis is null ? null : Punchhole.Server.Cluster.ClusterPairing.Create(this, options.Redis);
    }

    public ServerOptions Options { get; }

    public ServerLog Log { get; }

    public ServerCounters Counters { get; } = new();

    public PairingTable Table { get; }

    /// <summary>--proxy-protocol: null when off, so that no connection pays for it then.</summary>
    public ProxyProtocol? Proxy { get; }

    /// <summary>--metrics: the histograms the pairing path updates; null when off.</summary>
    public ServerMetrics? Metrics { get; }

    /// <summary>Where the metrics endpoint listens, once started (with the real port when 0 was asked for).</summary>
    public IPEndPoint? MetricsEndPoint => _metricsEndpoint?.LocalEndPoint;

    public DisconnectWatcher Watcher { get; }

    /// <summary>Arrivals waiting for their claimed waiter's acknowledgement; polled on the watcher's thread.</summary>
    public PendingConfirmations Confirmations { get; }

    /// <summary>The waiting table shared with other instances through Redis; null without --redis.</summary>
    public Cluster.ClusterPairing? Cluster { get; }

    internal SessionPool Sessions => _sessions;

    /// <summary>True once <see cref="Stop"/> has begun.</summary>
    public bool IsStopping => Volatile.Read(ref _stopping) != 0;

    /// <summary>Event args with room for a key or a v1 reply.</summary>
    public Microsoft.Extensions.ObjectPool.ObjectPool<SessionIo> IoPool { get; } = SessionIo.CreatePool(TStun.MaxReplyLength);

    /// <summary>Event args with room for any T-STUN/2 line.</summary>
    public Microsoft.Extensions.ObjectPool.ObjectPool<SessionIo> LineIoPool { get; } = SessionIo.CreatePool(Punchhole.Protocol.V2.TStun2.MaxLineLength);

    /// <summary>What v2 clients offered, held from their key to their close.</summary>
    public Microsoft.Extensions.ObjectPool.ObjectPool<CandidateOffer> Offers { get; } = CandidateOffer.CreatePool();

    /// <summary>The relay; null unless the operator turned it on.</summary>
    public RelayService? Relay { get; }

    /// <summary>Where the server listens (with the real port when 0 was asked for).</summary>
    public IPEndPoint? LocalEndPoint { get; private set; }

    public string Summary() => Counters.Summary(Table.Count);

    /// <summary>The metrics endpoint's text: the stats line's values, the limits in force, the histograms.</summary>
    private string RenderMetrics() => Metrics!.Render(Counters.Read(Table.Count),
    [
        ("tstun_max_waiting", "The most clients that may wait at once (--max-waiting).", Options.MaxWaiting),
        ("tstun_max_waiting_per_source", "The most clients one source may have waiting (--max-waiting-per-source); 0 for no limit.", Options.EffectiveMaxWaitingPerSource),
        ("tstun_max_connections", "The most connections open at once, as bounded by the open-file limit.", _maxConnections == int.MaxValue ? 0 : _maxConnections),
    ]);

    /// <summary>Binds, listens and starts accepting. Throws <see cref="ServerStartException"/> when an address cannot be had.</summary>
    public void Start()
    {
        Socket listener;
        try
        {
            listener = Listen(Options.Bind, Options.Port, Options.DeferAccept);
        }
        catch (SocketException e)
        {
            throw new ServerStartException($"cannot listen on {(Options.Bind?.ToString() ?? "[::]")}:{Options.Port}: {e.Message}", e);
        }
        LocalEndPoint = (IPEndPoint)listener.LocalEndPoint!;
        if (Options.Metrics is { } metricsAt)
        {
            try
            {
                _metricsEndpoint = MetricsEndpoint.Start(metricsAt, RenderMetrics);
            }
            catch (SocketException e)
            {
                listener.Dispose();
                throw new ServerStartException($"cannot listen for metrics on {metricsAt}: {e.Message}", e);
            }
        }
        _acceptLoop = new AcceptLoop(listener, Log, OnAccepted, OnRefused, OnAcceptPaused);
        int perSource = Options.EffectiveMaxWaitingPerSource;
        Log.Info($"listening on {Describe(listener)}; timeout {Options.WaitTimeout.TotalSeconds:0.###} s, "
            + $"key timeout {Options.KeyTimeout.TotalSeconds:0.###} s, max waiting {Options.MaxWaiting}, "
            + $"max waiting per source {(perSource > 0 ? perSource : "unlimited")}, "
            + $"max connections {(_maxConnections == int.MaxValue ? "unlimited" : _maxConnections)}, "
            + $"max per IP {(Options.MaxPerIp > 0 ? Options.MaxPerIp : "unlimited")}; {DescribeRelay(Options.Relay)}");
        if (Cluster is not null && Options.Relay is { Enabled: true, PublicAddress: null })
        {
            Log.Info("relay: pairs formed across instances get no relay token without --relay-address (this instance's own address, which clients can reach)");
        }
        if (Proxy is not null)
        {
            Log.Info($"PROXY protocol (v1 and v2) required on every connection; trusted proxies: {string.Join(", ", Options.TrustedProxies)}");
        }
        if (_metricsEndpoint is not null)
        {
            Log.Info($"metrics at http://{_metricsEndpoint.LocalEndPoint}/metrics");
        }
        _nextSummary = Options.StatsInterval > TimeSpan.Zero
            ? Environment.TickCount64 + (long)Options.StatsInterval.TotalMilliseconds
            : long.MaxValue;
        _heartbeat.Start();
        Cluster?.Start();
        _acceptLoop.Start();
    }

    private static Socket Listen(IPAddress? bind, int port, TimeSpan deferAccept)
    {
        var address = bind ?? (Socket.OSSupportsIPv6 ? IPAddress.IPv6Any : IPAddress.Any);
        var listener = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (address.AddressFamily == AddressFamily.InterNetworkV6 && address.Equals(IPAddress.IPv6Any))
            {
                listener.DualMode = true;
            }
            // Raw SO_REUSEADDR: .NET's ReuseAddress also sets SO_REUSEPORT on Linux, which would let
            // a second tstun share the port and split every pair between the two processes.
            const int SOL_SOCKET = 1, SO_REUSEADDR = 2;
            listener.SetRawSocketOption(SOL_SOCKET, SO_REUSEADDR, BitConverter.GetBytes(1));
            // Accepted sockets inherit TCP_NODELAY: set once here, not per connection.
            listener.NoDelay = true;
            if (deferAccept > TimeSpan.Zero && OperatingSystem.IsLinux())
            {
                const int IPPROTO_TCP = 6, TCP_DEFER_ACCEPT = 9;
                listener.SetRawSocketOption(IPPROTO_TCP, TCP_DEFER_ACCEPT,
                    BitConverter.GetBytes((int)Math.Ceiling(deferAccept.TotalSeconds)));
            }
            listener.Bind(new IPEndPoint(address, port));
            listener.Listen(4096);
            return listener;
        }
        catch
        {
            listener.Dispose();
            throw;
        }
    }

    private static string DescribeRelay(RelayOptions relay) => relay.Enabled
        ? $"relay on: at most {relay.MaxSessions} sessions, {relay.MaxPerIp} per IP, {relay.MaxBytes >> 20} MiB and "
            + $"{relay.MaxDuration.TotalSeconds:0.###} s each, {(relay.BytesPerSecond > 0 ? $"{relay.BytesPerSecond / 125_000.0:0.###} Mbit/s" : "no bandwidth ceiling")} in all, "
            + $"second leg within {relay.JoinTimeout.TotalSeconds:0.###} s"
            + (relay.PublicAddress is { } at ? $", legs sent to {at}" : "")
        : "relay off";

    private static string Describe(Socket listener)
    {
        var local = (IPEndPoint)listener.LocalEndPoint!;
        return local.AddressFamily == AddressFamily.InterNetworkV6 && listener.DualMode
            ? $"{local} (IPv6 and IPv4)"
            : local.ToString();
    }

    private void OnAccepted(Socket socket)
    {
        ServerCounters.Add(ref Counters.Accepted);
        if (Volatile.Read(ref _stopping) != 0)
        {
            socket.Dispose();
            return;
        }
        if (Interlocked.Increment(ref Counters.Active) > _maxConnections)
        {
            Interlocked.Decrement(ref Counters.Active);
            ServerCounters.Add(ref Counters.RejectedConnections);
            socket.Dispose();
            return;
        }
        var address = PeerAddress.FromEndPoint((IPEndPoint)socket.RemoteEndPoint!);
        if (Proxy is not null)
        {
            // The address that counts is the one the header carries: the session reads it first.
            if (!Proxy.Trusts(address))
            {
                Interlocked.Decrement(ref Counters.Active);
                ServerCounters.Add(ref Counters.ProxyRejected);
                Log.Debug(address, static a => $"{a}: rejected: not a trusted proxy");
                socket.Dispose();
                return;
            }
        }
        else if (_perAddress.Enabled && !_perAddress.TryEnter(address))
        {
            Interlocked.Decrement(ref Counters.Active);
            ServerCounters.Add(ref Counters.RejectedPerIp);
            socket.Dispose();
            return;
        }
        var session = _sessions.Rent();
        session.HoldsAddressSlot = Proxy is null && _perAddress.Enabled;
        session.Start(socket, address, Environment.TickCount64);
    }

    // Accepted with too few descriptors left to keep it: closed at once, as past the connection cap.
    private void OnRefused(Socket socket)
    {
        ServerCounters.Add(ref Counters.Accepted);
        ServerCounters.Add(ref Counters.RejectedConnections);
        socket.Dispose();
    }

    /// <summary>Counts a session's address (named by its PROXY header) against --max-per-ip; false past the limit.</summary>
    internal bool TryAdmit(ClientSession session)
    {
        if (!_perAddress.Enabled)
        {
            return true;
        }
        if (!_perAddress.TryEnter(session.Address))
        {
            return false;
        }
        session.HoldsAddressSlot = true;
        return true;
    }

    /// <summary>Counts a session that starts to wait against its source's share of the table; false past the share.</summary>
    internal bool TryTakeShare(ClientSession session)
    {
        if (_shares is null)
        {
            return true;
        }
        if (!_shares.TryEnter(session.Address))
        {
            return false;
        }
        session.HoldsShare = true;
        return true;
    }

    private void OnAcceptPaused(string reason, TimeSpan pause)
    {
        long pauses = Interlocked.Increment(ref Counters.AcceptPauses);
        // At most one line a minute: under churn at the limit, every freed descriptor ends a run of
        // pauses, so "once per run" would still be a line per heartbeat. The counter has them all.
        long now = Environment.TickCount64, next = Volatile.Read(ref _nextPauseLog);
        if (now >= next && Interlocked.CompareExchange(ref _nextPauseLog, now + PauseLogInterval, next) == next)
        {
            Log.Info($"{reason}: pausing accepts, retrying in {pause.TotalMilliseconds:0} ms and backing off; "
                + $"{Volatile.Read(ref Counters.Active)} connections open, {pauses} pauses so far (logged at most once a minute)");
        }
    }

    internal void OnSessionClosing(ClientSession session)
    {
        if (session.HoldsAddressSlot)
        {
            session.HoldsAddressSlot = false;
            _perAddress.Leave(session.Address);
        }
        if (session.HoldsShare)
        {
            session.HoldsShare = false;
            _shares!.Leave(session.Address);
        }
        Interlocked.Decrement(ref Counters.Active);
    }

    internal void OnSessionClosed(ClientSession session) => _sessions.Return(session);

    private void OnReset(ulong token)
    {
        var session = _sessions.Find((int)(uint)token);
        if (session is null)
        {
            return;
        }
        long word = session.Word;
        // The generation is the word's high 32 bits; compare them as unsigned on both sides.
        if ((uint)(word >> 32) == (uint)(token >> 32))
        {
            session.TryEndWait(word, Table, WaitEnd.Disconnected, ref Counters.Disconnected);
        }
    }

    private void OnHeartbeat(long now)
    {
        foreach (var session in _sessions.All)
        {
            long word = session.Word;
            var phase = RendezvousParty.PhaseOf(word);
            if (phase is not (PartyPhase.ReadingKey or PartyPhase.ReadingLine or PartyPhase.Waiting or PartyPhase.RelayLeg)
                || now < session.Deadline)
            {
                continue;
            }
            if (phase == PartyPhase.Waiting)
            {
                session.TryEndWait(word, Table, WaitEnd.TimedOut, ref Counters.TimedOut);
            }
            else if (phase == PartyPhase.RelayLeg)
            {
                Relay?.ExpireLeg(session, word);
            }
            else
            {
                var socket = session.Socket;
                if (session.TryMove(word, PartyPhase.KeyAborted))
                {
                    ServerCounters.Add(ref Counters.KeyTimedOut);
                    // Aborts the pending read; the session closes itself when it completes.
                    socket?.Dispose();
                }
            }
        }

        _acceptLoop?.OnHeartbeat(now);

        if (now >= _nextSummary)
        {
            _nextSummary = now + (long)Options.StatsInterval.TotalMilliseconds;
            Log.Info(Summary());
        }
    }

    /// <summary>
    /// Stops accepting and ends every wait, key read and pending confirmation, each without a
    /// reply. Idempotent: the first call does the work and later calls return at once.
    /// </summary>
    public void Stop()
    {
        if (Interlocked.Exchange(ref _stopping, 1) != 0)
        {
            return;
        }
        // The heartbeat first: a tick in flight could otherwise resume the disposed accept loop.
        _heartbeat.Dispose();
        _acceptLoop?.Dispose();
        // Ends the clients whose claim on another instance is unanswered, and the heartbeat key.
        Cluster?.Dispose();
        _metricsEndpoint?.Dispose();
        foreach (var session in _sessions.All)
        {
            long word = session.Word;
            switch (RendezvousParty.PhaseOf(word))
            {
                case PartyPhase.Waiting:
                    long uncounted = 0;
                    session.TryEndWait(word, Table, WaitEnd.ShuttingDown, ref uncounted);
                    break;
                case PartyPhase.ReadingKey or PartyPhase.ReadingLine:
                    var socket = session.Socket;
                    if (session.TryMove(word, PartyPhase.KeyAborted))
                    {
                        socket?.Dispose();
                    }
                    break;
            }
        }
        // The poll runs on the watcher's thread: once it has stopped, what it left pending is ended here.
        Watcher.Dispose();
        foreach (var arrival in Confirmations.Close())
        {
            arrival.EndConfirmationAtShutdown();
        }
        Relay?.Stop();
    }

    public void Dispose() => Stop();
}

/// <summary>The server could not start: one line for the operator.</summary>
internal sealed class ServerStartException(string message, Exception inner) : Exception(message, inner);
