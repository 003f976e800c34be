namespace Punchhole.Server;

/// <summary>
/// Arrivals that claimed a waiter, sent it its reply, and wait for the waiter's TCP to acknowledge
/// it before they get their own. Usually empty: on a LAN the acknowledgement is there as soon as
/// the send returns and the arrival never comes here. Across the internet it takes a round trip,
/// and this list is polled on the disconnect watcher's thread every <see cref="PollMilliseconds"/>
/// while anything is in it: one poll for every pending confirmation, no timer per client.
/// Adding is allocation-free once the arrays have grown to the peak.
/// </summary>
internal sealed class PendingConfirmations
{
    /// <summary>How often pending confirmations are asked again: small against a round trip, cheap at one ioctl each.</summary>
    public const int PollMilliseconds = 2;

    private readonly Lock _gate = new();
    private readonly Action _wake;
    private ClientSession[] _pending = new ClientSession[64];
    private ClientSession[] _polling = new ClientSession[64];
    private int _count;
    private bool _closed;

    /// <param name="wake">Rouses the polling thread when the first confirmation arrives.</param>
    public PendingConfirmations(Action wake) => _wake = wake;

    /// <summary>How many arrivals wait for an acknowledgement now, less any the poll is asking about at this moment.</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _count;
            }
        }
    }

    /// <summary>Hands <paramref name="arrival"/> to the poll; false once the server is stopping (the caller ends it then).</summary>
    public bool Add(ClientSession arrival)
    {
        bool first;
        lock (_gate)
        {
            if (_closed)
            {
                return false;
            }
            Append(arrival);
            first = _count == 1;
        }
        if (first)
        {
            _wake();
        }
        return true;
    }

    /// <summary>
    /// Asks every pending arrival's waiter again (on the polling thread only); returns the
    /// milliseconds until the next poll is due.
    /// </summary>
    public int Poll(long now)
    {
        ClientSession[] batch;
        int n;
        lock (_gate)
        {
            // Swap the arrays: arrivals added while this batch is worked on go to the other one.
            batch = _pending;
            n = _count;
            _pending = _polling;
            _polling = batch;
            _count = 0;
        }
        for (int i = 0; i < n; i++)
        {
            var arrival = batch[i];
            batch[i] = null!;
            if (arrival.PollClaimedWaiter(now))
            {
                lock (_gate)
                {
                    Append(arrival);
                }
            }
        }
        lock (_gate)
        {
            return _count > 0 ? PollMilliseconds : DisconnectWatcher.IdleMilliseconds;
        }
    }

    /// <summary>Refuses new confirmations and returns those still pending, for the caller to end (once the poll has stopped).</summary>
    public ClientSession[] Close()
    {
        lock (_gate)
        {
            _closed = true;
            var left = _pending.AsSpan(0, _count).ToArray();
            _pending.AsSpan(0, _count).Clear();
            _count = 0;
            return left;
        }
    }

    private void Append(ClientSession arrival)
    {
        if (_count == _pending.Length)
        {
            Array.Resize(ref _pending, _count * 2);
        }
        _pending[_count++] = arrival;
    }
}
