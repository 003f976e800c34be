using Microsoft.Extensions.ObjectPool;

namespace Punchhole.Server;

/// <summary>
/// Recycles client sessions (each with its socket event args and buffers) and keeps a list of
/// every session ever made, so the heartbeat can sweep them without a per-client timer. Sessions
/// are never dropped: their number is bounded by the peak of concurrent connections.
/// </summary>
internal sealed class SessionPool : IPooledObjectPolicy<ClientSession>
{
    private readonly Func<int, ClientSession> _factory;
    private readonly ObjectPool<ClientSession> _pool;
    private readonly Lock _growth = new();
    private ClientSession[] _all = new ClientSession[256];
    private int _count;

    public SessionPool(Func<int, ClientSession> factory)
    {
        _factory = factory;
        _pool = new DefaultObjectPool<ClientSession>(this, int.MaxValue);
    }

    public ClientSession Rent() => _pool.Get();

    public void Return(ClientSession session) => _pool.Return(session);

    /// <summary>Every session made so far, in use or not; a snapshot that later growth leaves alone.</summary>
    public ReadOnlySpan<ClientSession> All
    {
        get
        {
            var all = Volatile.Read(ref _all);
            return all.AsSpan(0, Math.Min(Volatile.Read(ref _count), all.Length));
        }
    }

    /// <summary>The session with this id, or null.</summary>
    public ClientSession? Find(int id)
    {
        var all = All;
        return (uint)id < (uint)all.Length ? all[id] : null;
    }

    ClientSession IPooledObjectPolicy<ClientSession>.Create()
    {
        lock (_growth)
        {
            var session = _factory(_count);
            if (_count == _all.Length)
            {
                var grown = new ClientSession[_all.Length * 2];
                _all.CopyTo(grown, 0);
                Volatile.Write(ref _all, grown);
            }
            _all[_count] = session;
            Volatile.Write(ref _count, _count + 1);
            return session;
        }
    }

    bool IPooledObjectPolicy<ClientSession>.Return(ClientSession session) => true;
}
