using System.Collections.Concurrent;
using Punchhole.Protocol;
using StackExchange.Redis;

namespace Punchhole.Server.Cluster;

/// <summary>
/// Pairs clients that wait on different tstun instances, through a waiting table in Redis
/// (<see cref="RedisWaitingTable"/>). It works beside the local lock-free table, never in it:
/// <list type="number">
/// <item>A client that starts to wait in the local table is offered to Redis: one script takes the
/// registration waiting for its key there, or registers this client.</item>
/// <item>If it took one, the client claims itself out of the local table (the same compare-and-swap a
/// local arrival would make, so exactly one of them wins) and sends the waiter's instance a claim.</item>
/// <item>That instance claims its waiter the same way, sends it its reply, waits for the waiter's
/// TCP to acknowledge it (the liveness check of a local pair), and answers: paired, with the
/// waiter's address, or gone.</item>
/// <item>On "paired" the claimer gets its reply and closes, just as a local arrival would. On "gone",
/// or no answer within <see cref="ClaimTimeout"/>, it waits again, in both tables.</item>
/// </list>
/// Two clients that meet on one instance pair locally without Redis. When Redis is unreachable,
/// each instance goes on pairing the clients that meet on it; once Redis answers again, every
/// waiting client is offered anew.
/// </summary>
internal sealed class ClusterPairing : IDisposable
{
    /// <summary>How long an instance's registrations stay claimable after its last heartbeat.</summary>
    public static readonly TimeSpan HeartbeatLifetime = TimeSpan.FromSeconds(3);

    private const int TickMilliseconds = 250;
    private const int BeatEveryTicks = 4;

    private readonly RendezvousServer _server;
    private readonly ConfigurationOptions _configuration;
    private readonly string _instance;
    // Waiters of this instance registered in Redis: token to key.
    private readonly ConcurrentDictionary<ulong, string> _registered = new();
    // Claims this instance sent: request to the claiming client.
    private readonly ConcurrentDictionary<long, PendingClaim> _pending = new();
    // Claims this instance handled lately, so that a message delivered twice is handled once.
    private readonly ConcurrentDictionary<(string From, long Request), long> _handled = new();
    private readonly Timer _timer;
    private ConnectionMultiplexer? _redis;
    private RedisWaitingTable? _table;
    private long _nextRequest;
    private int _drainState;
    private int _ticks;
    private int _subscribed;
    // 1 from a heartbeat that succeeded to the next error, 0 after an error (logged once per
    // outage), -1 before the first heartbeat. Registrations are made only at 1, so an instance's
    // heartbeat key exists before its registrations do.
    private int _health = -1;
    private int _stopped;

    private ClusterPairing(RendezvousServer server, ConfigurationOptions configuration, bool connectTimeoutGiven)
    {
        if (!connectTimeoutGiven)
        {
            // Down at start is said within a few seconds, not the client's default of more.
            configuration.ConnectTimeout = 2000;
        }
        _server = server;
        _configuration = configuration;
        _instance = Convert.ToHexStringLower(BitConverter.GetBytes(Random.Shared.NextInt64()));
        _timer = new Timer(static state => ((ClusterPairing)state!).OnTick(), this, Timeout.Infinite, Timeout.Infinite);
    }

    /// <summary>How long a claimer waits for the waiter's instance to answer before it waits again.</summary>
    public TimeSpan ClaimTimeout => _server.Options.ConfirmTimeout + TimeSpan.FromSeconds(2);

    /// <summary>This instance's name in Redis.</summary>
    public string Instance => _instance;

    /// <summary>Checks a StackExchange.Redis configuration string; null and a reason when it is not one.</summary>
    public static ConfigurationOptions? ParseConfiguration(string text, out string? error)
    {
        try
        {
            var options = ConfigurationOptions.Parse(text);
            if (options.EndPoints.Count == 0)
            {
                error = "names no Redis server (e.g. localhost:6379)";
                return null;
            }
            error = null;
            return options;
        }
        catch (ArgumentException e)
        {
            error = e.Message;
            return null;
        }
    }

    /// <summary>Creates the cluster side of <paramref name="server"/>; nothing happens before <see cref="Start"/>.</summary>
    public static ClusterPairing Create(RendezvousServer server, string configuration) =>
        new(server, ParseConfiguration(configuration, out _) ?? throw new ArgumentException("not a Redis configuration", nameof(configuration)),
            configuration.Contains("connectTimeout", StringComparison.OrdinalIgnoreCase));

    /// <summary>Connects in the background: the server accepts and pairs locally meanwhile.</summary>
    public void Start()
    {
        _configuration.AbortOnConnectFail = false;
        // Fail at once while disconnected: a client then simply waits locally.
        _configuration.BacklogPolicy = BacklogPolicy.FailFast;
        _configuration.ClientName ??= "tstun-" + _instance;
        // Back soon after Redis is: every second, not the default's growing back-off.
        _configuration.ReconnectRetryPolicy = new LinearRetry(1000);
        _ = ConnectAsync();
        _timer.Change(TickMilliseconds, TickMilliseconds);
    }

    private async Task ConnectAsync()
    {
        try
        {
            var redis = await ConnectionMultiplexer.ConnectAsync(_configuration).ConfigureAwait(false);
            redis.ConnectionFailed += (_, e) =>
            {
                if (e.ConnectionType == ConnectionType.Subscription)
                {
                    // Only the bell: the periodic drain stands in, and the client resubscribes by
                    // itself. Its reconnection attempts must not announce a second outage.
                    ServerCounters.Add(ref _server.Counters.RedisErrors);
                    return;
                }
                OnRedisError(e.Exception is { } error ? Describe(error) : e.FailureType.ToString());
            };
            _redis = redis;
            _table = new RedisWaitingTable(redis, _instance);
            if (Volatile.Read(ref _stopped) != 0)
            {
                redis.Dispose();
                return;
            }
            await BeatAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            OnRedisError(Describe(e));
        }
#pragma warning disable CA1031 // Anything else stops the sharing, said in one line; the server pairs locally.
        catch (System.Security.Cryptography.CryptographicException)
        {
            // The client draws random numbers through .NET's RNG, which reads /dev/urandom.
            ServerCounters.Add(ref _server.Counters.RedisErrors);
            _server.Log.Info("redis: the Redis client needs /dev/urandom, which this root lacks; pairing the clients of this instance only");
        }
        catch (Exception e)
#pragma warning restore CA1031
        {
            ServerCounters.Add(ref _server.Counters.RedisErrors);
            _server.Log.Info($"redis: cannot start the client ({e.GetBaseException().GetType().Name}: {e.GetBaseException().Message}); "
                + "pairing the clients of this instance only");
        }
    }

    /// <summary>Called by a client that has just started to wait in the local table.</summary>
    public void Offer(ClientSession waiter)
    {
        var table = _table;
        long word = waiter.Word;
        // While Redis is unreachable the client waits locally; it is offered once Redis is back.
        if (table is null || Volatile.Read(ref _health) != 1 || RendezvousParty.PhaseOf(word) != PartyPhase.Waiting)
        {
            return;
        }
        string key = KeyText(waiter.Key);
        ulong token = waiter.Token;
        var ttl = TimeSpan.FromMilliseconds(Math.Max(1, waiter.Deadline - Environment.TickCount64));
        if (waiter.Word != word)
        {
            return;
        }
        _ = OfferAsync(table, waiter, word, key, token, ttl);
    }

    private async Task OfferAsync(RedisWaitingTable table, ClientSession waiter, long word, string key, ulong token, TimeSpan ttl)
    {
        string? found;
        try
        {
            found = await table.ClaimOrRegisterAsync(key, token, ttl).ConfigureAwait(false);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            OnRedisError(Describe(e));
            return;
        }
        if (found is null)
        {
            _registered[token] = key;
            // The wait may have ended before the registration was recorded: then nobody withdraws it but this.
            if (waiter.Word != word && _registered.TryRemove(new KeyValuePair<ulong, string>(token, key)))
            {
                await WithdrawAsync(table, key, token).ConfigureAwait(false);
            }
            return;
        }
        if (!RedisWaitingTable.TryReadRegistration(found, out string instance, out ulong remote))
        {
            return;
        }
        if (!waiter.TryMove(word, PartyPhase.Paired))
        {
            // Paired locally or left meanwhile: the registration taken belongs back in Redis.
            await SendAsync(table, instance, new ClusterMessage(ClusterMessageKind.Reoffer, 0, _instance, remote, key, default)).ConfigureAwait(false);
            return;
        }
        // Claimed: its node in the local table is dead now, and is unlinked here.
        _server.Table.Remove(waiter);
        long request = Interlocked.Increment(ref _nextRequest);
        _pending[request] = new PendingClaim(waiter, Environment.TickCount64 + (long)ClaimTimeout.TotalMilliseconds);
        await SendAsync(table, instance, new ClusterMessage(ClusterMessageKind.Claim, request, _instance, remote, key, waiter.Address,
            waiter.DescribeForClaim())).ConfigureAwait(false);
    }

    /// <summary>Called as a client's wait ends, however it ends: its registration, if any, is removed.</summary>
    public void Withdraw(ClientSession waiter)
    {
        ulong token = waiter.Token;
        if (_table is { } table && Volatile.Read(ref _stopped) == 0 && _registered.TryRemove(token, out string? key))
        {
            _ = WithdrawAsync(table, key, token);
        }
    }

    private async Task WithdrawAsync(RedisWaitingTable table, string key, ulong token)
    {
        try
        {
            await table.WithdrawAsync(key, token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            // It expires with its TTL; a claim of it meanwhile is answered "gone".
            OnRedisError(Describe(e));
        }
    }

    /// <summary>Delivers to another instance, or handles in place when the message is for this one.</summary>
    private async Task SendAsync(RedisWaitingTable table, string instance, ClusterMessage message)
    {
        if (instance == _instance)
        {
            Handle(table, message);
            return;
        }
        try
        {
            await table.SendAsync(instance, message).ConfigureAwait(false);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            // A claim not delivered is answered by no one: its claimer waits again after the claim timeout.
            OnRedisError(Describe(e));
        }
    }

    private void Handle(RedisWaitingTable table, in ClusterMessage message)
    {
        switch (message.Kind)
        {
            case ClusterMessageKind.Claim:
                if (_handled.TryAdd((message.From, message.Request), Environment.TickCount64 + 60_000))
                {
                    HandleClaim(table, message);
                }
                break;
            case ClusterMessageKind.Reoffer:
                if (FindWaiting(message.Token, message.Key, out var waiter, out _))
                {
                    _registered.TryRemove(message.Token, out _);
                    Offer(waiter);
                }
                break;
            default:
                HandleAnswer(message);
                break;
        }
    }

    /// <summary>Another instance's client claimed a waiter of this one.</summary>
    private void HandleClaim(RedisWaitingTable table, ClusterMessage claim)
    {
        if (!FindWaiting(claim.Token, claim.Key, out var waiter, out long word) || !waiter.TryMove(word, PartyPhase.Paired))
        {
            Answer(table, claim, ClusterMessageKind.Gone, default);
            return;
        }
        // The claim took its registration already.
        _registered.TryRemove(claim.Token, out _);
        _server.Table.Remove(waiter);
        switch (waiter.DeliverClaimedReply(claim.Address, claim.Offer, out var answer))
        {
            case Delivery.Acknowledged:
                CompleteClaim(table, waiter, claim, answer);
                break;
            case Delivery.Unacknowledged:
                _ = ConfirmAsync(table, waiter, claim, answer);
                break;
            default:
                GiveUpClaim(table, waiter, claim);
                break;
        }
    }

    /// <summary>Asks the claimed waiter's TCP again until it acknowledged its reply, reset, or the confirmation timeout passed.</summary>
    private async Task ConfirmAsync(RedisWaitingTable table, ClientSession waiter, ClusterMessage claim, RemoteOffer answer)
    {
        long deadline = Environment.TickCount64 + (long)_server.Options.ConfirmTimeout.TotalMilliseconds;
        while (true)
        {
            await Task.Delay(PendingConfirmations.PollMilliseconds).ConfigureAwait(false);
            var socket = waiter.Socket;
            var delivery = socket is null ? Delivery.Gone : NonBlockingIo.Probe(socket);
            if (delivery == Delivery.Acknowledged)
            {
                CompleteClaim(table, waiter, claim, answer);
                return;
            }
            if (delivery == Delivery.Gone || Environment.TickCount64 >= deadline || Volatile.Read(ref _stopped) != 0)
            {
                GiveUpClaim(table, waiter, claim);
                return;
            }
        }
    }

    private void CompleteClaim(RedisWaitingTable table, ClientSession waiter, in ClusterMessage claim, in RemoteOffer answer)
    {
        // Read before the signal: the waiter closes and is recycled in it.
        var address = waiter.Address;
        ServerCounters.Add(ref _server.Counters.CrossPaired);
        waiter.CountRelayOffer();
        waiter.Signal(PairOutcome.PairedWith(claim.Address));
        Answer(table, claim, ClusterMessageKind.Paired, address, answer);
    }

    private void GiveUpClaim(RedisWaitingTable table, ClientSession waiter, in ClusterMessage claim)
    {
        waiter.WithdrawClaimedRelay();
        ServerCounters.Add(ref _server.Counters.DeadWaiters);
        waiter.Signal(PairOutcome.Ended(WaitEnd.Gone));
        Answer(table, claim, ClusterMessageKind.Gone, default);
    }

    private void Answer(RedisWaitingTable table, in ClusterMessage claim, ClusterMessageKind kind, PeerAddress address, RemoteOffer answer = default) =>
        _ = SendAsync(table, claim.From, new ClusterMessage(kind, claim.Request, _instance, claim.Token, "", address, answer));

    /// <summary>The waiter's instance answered a claim this instance sent.</summary>
    private void HandleAnswer(in ClusterMessage answer)
    {
        if (!_pending.TryRemove(answer.Request, out var claim))
        {
            // Answered after the claim timed out (its client waits again), or delivered twice.
            return;
        }
        var claimer = claim.Session;
        if (answer.Kind == ClusterMessageKind.Paired)
        {
            ServerCounters.Add(ref _server.Counters.CrossPaired);
            // The waiter has its reply, acknowledged: the claimer gets its own, then the FIN.
            claimer.DeliverReply(answer.Address, answer.Offer, answer.Offer.Token, answer.Offer.RelayAt);
            claimer.Signal(PairOutcome.PairedWith(answer.Address));
        }
        else
        {
            claimer.Signal(PairOutcome.Ended(WaitEnd.Rejoin));
        }
    }

    /// <summary>The session <paramref name="token"/> names, if it still waits in the same incarnation with <paramref name="key"/>.</summary>
    private bool FindWaiting(ulong token, string key, out ClientSession waiter, out long word)
    {
        waiter = _server.Sessions.Find((int)(uint)token)!;
        word = waiter?.Word ?? 0;
        return waiter is not null
            && (uint)(word >> 32) == (uint)(token >> 32)
            && RendezvousParty.PhaseOf(word) == PartyPhase.Waiting
            && KeyText(waiter.Key) == key
            && waiter.Word == word;
    }

    /// <summary>The bell rang (or the periodic tick): drains the inbox, one drain at a time.</summary>
    private void Ring()
    {
        while (true)
        {
            int state = Volatile.Read(ref _drainState);
            if (state == 2 || Interlocked.CompareExchange(ref _drainState, state + 1, state) == state)
            {
                if (state == 0)
                {
                    _ = Task.Run(DrainAsync);
                }
                return;
            }
        }
    }

    private async Task DrainAsync()
    {
        do
        {
            Volatile.Write(ref _drainState, 1);
            var table = _table;
            if (table is null)
            {
                continue;
            }
            try
            {
                while (true)
                {
                    var messages = await table.TakeAsync().ConfigureAwait(false);
                    if (messages.Length == 0)
                    {
                        break;
                    }
                    foreach (string line in messages)
                    {
                        if (ClusterMessage.TryParse(line, out var message))
                        {
                            Handle(table, message);
                        }
                    }
                    await table.DoneAsync().ConfigureAwait(false);
                }
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                OnRedisError(Describe(e));
            }
        }
        while (Interlocked.CompareExchange(ref _drainState, 0, 1) != 1);
    }

    private void OnTick()
    {
        if (Volatile.Read(ref _stopped) != 0)
        {
            return;
        }
        long now = Environment.TickCount64;
        foreach (var (request, claim) in _pending)
        {
            if (now >= claim.Deadline && _pending.TryRemove(request, out _))
            {
                // The waiter's instance did not answer (it died, or Redis lost the message): wait again.
                claim.Session.Signal(PairOutcome.Ended(WaitEnd.Rejoin));
            }
        }
        foreach (var (handled, expiry) in _handled)
        {
            if (now >= expiry)
            {
                _handled.TryRemove(handled, out _);
            }
        }
        if (++_ticks % BeatEveryTicks == 0)
        {
            _ = BeatAsync();
            // In case a bell was missed (rung while the subscription was down).
            Ring();
        }
    }

    private async Task BeatAsync()
    {
        var table = _table;
        if (table is null)
        {
            return;
        }
        try
        {
            await table.BeatAsync(HeartbeatLifetime).ConfigureAwait(false);
            if (Volatile.Read(ref _subscribed) == 0)
            {
                await _redis!.GetSubscriber().SubscribeAsync(RedisWaitingTable.BellOf(_instance), (_, _) => Ring()).ConfigureAwait(false);
                Volatile.Write(ref _subscribed, 1);
            }
            OnRedisAnswered();
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            OnRedisError(Describe(e));
        }
    }

    /// <summary>The cause in a few words: the client's own messages run to a paragraph of diagnostics.</summary>
    private static string Describe(Exception e) => e switch
    {
        RedisConnectionException c => c.FailureType + (c.InnerException is { } inner ? ": " + Short(inner.Message) : ""),
        TimeoutException => "timed out",
        _ => Short(e.Message),
    };

    /// <summary>The first clause of a message: the client appends its state after the first comma.</summary>
    private static string Short(string message)
    {
        var line = message.AsSpan();
        int cut = line.IndexOfAny('\n', ',');
        line = cut >= 0 ? line[..cut] : line;
        return line.Length > 160 ? string.Concat(line[..160], "…") : line.ToString();
    }

    private void OnRedisError(string why)
    {
        ServerCounters.Add(ref _server.Counters.RedisErrors);
        if (Interlocked.Exchange(ref _health, 0) != 0 && Volatile.Read(ref _stopped) == 0)
        {
            _server.Log.Info($"redis unreachable ({why.ReplaceLineEndings(" ")}): pairing the clients of this instance only "
                + "until it is back (errors counted in redis_errors)");
        }
    }

    private void OnRedisAnswered()
    {
        int was = Interlocked.Exchange(ref _health, 1);
        if (was == 1)
        {
            return;
        }
        _server.Log.Info(was == 0
            ? "redis reachable again: offering every waiting client to the shared table"
            : $"redis: instance {_instance}, sharing the waiting table through {string.Join(",", _configuration.EndPoints)}");
        // Clients that began to wait meanwhile, and registrations lost if Redis restarted empty.
        OfferAllWaiting();
        Ring();
    }

    private void OfferAllWaiting()
    {
        foreach (var session in _server.Sessions.All)
        {
            Offer(session);
        }
    }

    private static string KeyText(in SessionKey key)
    {
        Span<byte> bytes = stackalloc byte[SessionKey.Length];
        key.CopyTo(bytes);
        return Convert.ToHexStringLower(bytes);
    }

    /// <summary>
    /// Stops sharing: the heartbeat key goes at once, so no instance is handed this one's waiters,
    /// and clients whose claim is unanswered end as the server stops.
    /// </summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }
        _timer.Dispose();
        foreach (var (request, claim) in _pending)
        {
            if (_pending.TryRemove(request, out _))
            {
                claim.Session.Signal(PairOutcome.Ended(WaitEnd.ShuttingDown));
            }
        }
        if (_table is { } table)
        {
            try
            {
                table.StopBeatingAsync().Wait(TimeSpan.FromSeconds(1));
            }
            catch (AggregateException)
            {
                // Unreachable: the heartbeat expires by itself.
            }
        }
        _redis?.Dispose();
    }

    private readonly record struct PendingClaim(ClientSession Session, long Deadline);
}
