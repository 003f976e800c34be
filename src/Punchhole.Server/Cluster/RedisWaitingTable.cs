using StackExchange.Redis;

namespace Punchhole.Server.Cluster;

/// <summary>
/// The waiting table that instances share in Redis, and their inboxes. Every operation that reads
/// and writes is one Lua script, so Redis runs it atomically. Keys, all under "tstun:":
/// <list type="bullet">
/// <item><c>tstun:wait:KEYHEX</c> the registration of the one client waiting with that key:
/// "INSTANCE TOKEN", with the wait's remaining time as TTL;</item>
/// <item><c>tstun:alive:INSTANCE</c> an instance's heartbeat, refreshed every second with a short TTL:
/// a registration whose instance has none is never handed out;</item>
/// <item><c>tstun:inbox:INSTANCE</c> and <c>tstun:taken:INSTANCE</c> an instance's messages, and those it
/// is handling (moved there atomically, deleted once handled: delivered at least once);</item>
/// <item>channel <c>tstun:bell:INSTANCE</c> rings when a message is pushed, so the instance drains at once.</item>
/// </list>
/// A single Redis server (or a primary with replicas) holds them all; the scripts touch keys of
/// other instances, so Redis Cluster's slot rules are not met.
/// </summary>
internal sealed class RedisWaitingTable
{
    private const string Prefix = "tstun:";

    // The waiter registered for the key, if its instance is alive, is taken out and returned;
    // otherwise the caller is registered and "" returned. A registration of the caller itself is
    // only renewed. ARGV: the caller's registration, its TTL in ms, the heartbeat key prefix.
    private const string ClaimOrRegisterScript = """
        local current = redis.call('GET', KEYS[1])
        if current == ARGV[1] then
          redis.call('PEXPIRE', KEYS[1], ARGV[2])
          return ''
        end
        if current then
          local instance = string.match(current, '^(%S+) ')
          if instance and redis.call('EXISTS', ARGV[3] .. instance) == 1 then
            redis.call('DEL', KEYS[1])
            return current
          end
        end
        redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
        return ''
        """;

    private const string WithdrawScript = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then
          return redis.call('DEL', KEYS[1])
        end
        return 0
        """;

    // ARGV: the message, the bell channel, the inbox's TTL in ms (an inbox of an instance that died goes away).
    private const string SendScript = """
        redis.call('RPUSH', KEYS[1], ARGV[1])
        redis.call('PEXPIRE', KEYS[1], ARGV[3])
        redis.call('PUBLISH', ARGV[2], '')
        return 1
        """;

    // Returns the messages taken but not yet handled (a drain that failed half way), or else moves
    // up to 256 from the inbox to the taken list and returns those.
    private const string TakeScript = """
        local taken = redis.call('LRANGE', KEYS[2], 0, -1)
        if #taken > 0 then
          return taken
        end
        for i = 1, 256 do
          local message = redis.call('LMOVE', KEYS[1], KEYS[2], 'LEFT', 'RIGHT')
          if not message then
            break
          end
          taken[#taken + 1] = message
        end
        if #taken > 0 then
          redis.call('PEXPIRE', KEYS[2], ARGV[1])
        end
        return taken
        """;

    /// <summary>How long an inbox outlives its last message: far longer than any wait for an answer.</summary>
    private static readonly TimeSpan InboxLifetime = TimeSpan.FromSeconds(60);

    private readonly IDatabase _db;

    public RedisWaitingTable(IConnectionMultiplexer redis, string instance)
    {
        _db = redis.GetDatabase();
        Instance = instance;
        Inbox = Prefix + "inbox:" + instance;
        Taken = Prefix + "taken:" + instance;
        Alive = Prefix + "alive:" + instance;
    }

    /// <summary>This instance's name: random, new at every start.</summary>
    public string Instance { get; }

    private RedisKey Inbox { get; }

    private RedisKey Taken { get; }

    private RedisKey Alive { get; }

    public static RedisChannel BellOf(string instance) => RedisChannel.Literal(Prefix + "bell:" + instance);

    /// <summary>This instance's registration for the waiter with <paramref name="token"/>.</summary>
    public string Registration(ulong token) => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{Instance} {token}");

    /// <summary>Splits a registration into its instance and token; false if it is not one.</summary>
    public static bool TryReadRegistration(string registration, out string instance, out ulong token)
    {
        int space = registration.IndexOf(' ', StringComparison.Ordinal);
        instance = space > 0 ? registration[..space] : "";
        token = 0;
        return space > 0 && ulong.TryParse(registration.AsSpan(space + 1), System.Globalization.NumberStyles.None,
            System.Globalization.CultureInfo.InvariantCulture, out token);
    }

    /// <summary>Refreshes the heartbeat: registrations of this instance can be handed out for <paramref name="lifetime"/> from now.</summary>
    public Task BeatAsync(TimeSpan lifetime) => _db.StringSetAsync(Alive, "", lifetime);

    /// <summary>Removes the heartbeat at once (a clean stop): nobody is handed this instance's waiters any more.</summary>
    public Task StopBeatingAsync() => _db.KeyDeleteAsync(Alive);

    /// <summary>Takes the registration waiting for <paramref name="key"/>, or registers <paramref name="token"/> for <paramref name="ttl"/>; null when registered.</summary>
    public async Task<string?> ClaimOrRegisterAsync(string key, ulong token, TimeSpan ttl)
    {
        var result = await _db.ScriptEvaluateAsync(ClaimOrRegisterScript, [WaitKey(key)],
            [Registration(token), (long)Math.Max(1, ttl.TotalMilliseconds), Prefix + "alive:"]).ConfigureAwait(false);
        string? found = (string?)result;
        return string.IsNullOrEmpty(found) ? null : found;
    }

    /// <summary>Removes this instance's registration of <paramref name="token"/> for <paramref name="key"/>, if it is still there.</summary>
    public Task WithdrawAsync(string key, ulong token) =>
        _db.ScriptEvaluateAsync(WithdrawScript, [WaitKey(key)], [Registration(token)]);

    /// <summary>Pushes <paramref name="message"/> into <paramref name="instance"/>'s inbox and rings its bell.</summary>
    public Task SendAsync(string instance, in ClusterMessage message) =>
        _db.ScriptEvaluateAsync(SendScript, [Prefix + "inbox:" + instance],
            [message.Format(), Prefix + "bell:" + instance, (long)InboxLifetime.TotalMilliseconds]);

    /// <summary>The next messages of this instance's inbox; <see cref="DoneAsync"/> once they are handled.</summary>
    public async Task<string[]> TakeAsync()
    {
        var result = await _db.ScriptEvaluateAsync(TakeScript, [Inbox, Taken], [(long)InboxLifetime.TotalMilliseconds]).ConfigureAwait(false);
        return result.IsNull ? [] : (string[])result!;
    }

    /// <summary>The messages <see cref="TakeAsync"/> returned are handled.</summary>
    public Task DoneAsync() => _db.KeyDeleteAsync(Taken);

    private static RedisKey WaitKey(string key) => Prefix + "wait:" + key;
}
