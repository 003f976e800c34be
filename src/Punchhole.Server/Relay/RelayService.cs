using Punchhole.Protocol.V2;

namespace Punchhole.Server;

/// <summary>
/// The relay (tstun --relay) as the rest of the server sees it: it issues token pairs to pairs of
/// v2 clients that both said <c>relay-ok</c>, checks each arriving leg's token and caps, parks the
/// first leg of a session and joins the second to it, then hands the pair to the
/// <see cref="RelayEngine"/>, which copies their bytes on its own thread.
/// </summary>
/// <remarks>
/// Reservations, token lookups and leg parking share one lock: they are touched only by pairs that
/// asked for the relay and by relay legs, never by the v1 path or by v2 clients without
/// <c>relay-ok</c>, and every critical section is a few dictionary and array operations. A
/// reservation is a slot holding both tokens; the token dictionary is sized for every slot up
/// front, so issuing and withdrawing tokens allocates nothing. Tokens are single-use: a token is
/// spent by the first leg that arrives with it, and both tokens of a slot die together when the
/// session joins, when its first leg gives up waiting, or (with no leg arrived) 60 s after issue.
/// </remarks>
internal sealed class RelayService : IDisposable
{
    private readonly RelayOptions _options;
    private readonly ServerCounters _counters;
    private readonly Lock _gate = new();
    private readonly Reservation[] _slots;
    private readonly int[] _free;
    private readonly Dictionary<RelayToken, int> _byToken;
    private readonly PerAddressLimit _perAddress;
    private int _freeCount;
    private long _nextSweep;
    private int _sessions;
    private bool _stopping;

    public RelayService(RelayOptions options, ServerCounters counters, ServerLog log)
    {
        _options = options;
        _counters = counters;
        int capacity = options.MaxReservations;
        _slots = new Reservation[capacity];
        _free = new int[capacity];
        for (int i = 0; i < capacity; i++)
        {
            _free[i] = capacity - 1 - i;
        }
        _freeCount = capacity;
        _byToken = new Dictionary<RelayToken, int>(2 * capacity);
        _perAddress = new PerAddressLimit(options.MaxPerIp);
        Engine = new RelayEngine(options, counters, log, () => Interlocked.Decrement(ref _sessions));
    }

    /// <summary>The thread that copies the joined sessions' bytes.</summary>
    public RelayEngine Engine { get; }

    /// <summary>Sessions joined and not ended yet.</summary>
    public int Sessions => Volatile.Read(ref _sessions);

    /// <summary>Token pairs issued and not yet spent or expired (an estimate while busy; for tests and stats).</summary>
    public int Reservations
    {
        get
        {
            lock (_gate)
            {
                return _slots.Length - _freeCount;
            }
        }
    }

    /// <summary>
    /// Gives the waiter and the arrival of a pair each a fresh token, or none when every
    /// reservation is taken (counted in <c>relay_unoffered</c>). On the pairing path, before the
    /// waiter's reply is written.
    /// </summary>
    public void Reserve(CandidateOffer waiter, CandidateOffer arrival)
    {
        var first = RelayToken.CreateRandom();
        var second = RelayToken.CreateRandom();
        long now = Environment.TickCount64;
        int slot;
        lock (_gate)
        {
            if (_stopping || first == second || _byToken.ContainsKey(first) || _byToken.ContainsKey(second) || !TryAllocate(now, out slot))
            {
                slot = -1;
            }
            else
            {
                _slots[slot] = new Reservation(first, second, now + (long)RelayOptions.TokenLifetime.TotalMilliseconds);
                _byToken.Add(first, 2 * slot);
                _byToken.Add(second, 2 * slot + 1);
            }
        }
        if (slot < 0)
        {
            ServerCounters.Add(ref _counters.RelayUnoffered);
            return;
        }
        (waiter.Token, waiter.Reservation) = (first, slot);
        (arrival.Token, arrival.Reservation) = (second, slot);
    }

    /// <summary>The pair did not happen after all (the waiter was gone): its tokens die unused.</summary>
    public void Withdraw(CandidateOffer waiter, CandidateOffer arrival)
    {
        int slot = waiter.Reservation;
        if (slot >= 0)
        {
            lock (_gate)
            {
                if (_slots[slot].InUse && _slots[slot].First == waiter.Token)
                {
                    Free(slot);
                }
            }
        }
        waiter.Token = arrival.Token = default;
        waiter.Reservation = arrival.Reservation = -1;
    }

    /// <summary>
    /// A relay leg arrived with <paramref name="token"/> (in phase Pairing): refused, parked until
    /// its partner comes, or joined to its parked partner and handed to the engine.
    /// </summary>
    public void OnLeg(ClientSession leg, in RelayToken token)
    {
        long now = Environment.TickCount64;
        RelayRefusal? refusal = null;
        ClientSession? partner = null;
        lock (_gate)
        {
            if (_stopping)
            {
                refusal = RelayRefusal.Shutdown;
            }
            else if (!_byToken.TryGetValue(token, out int entry))
            {
                refusal = RelayRefusal.Token;
            }
            else
            {
                int slot = entry >> 1, side = entry & 1;
                ref var reservation = ref _slots[slot];
                if (reservation.Waiting is null && now >= reservation.Expires)
                {
                    Free(slot);
                    refusal = RelayRefusal.Token;
                }
                else if ((reservation.Spent & (1 << side)) != 0)
                {
                    refusal = RelayRefusal.Token;
                }
                else if (Volatile.Read(ref _sessions) >= _options.MaxSessions)
                {
                    // No room to join: a parked partner is refused with it (its session cannot happen now either).
                    refusal = RelayRefusal.Busy;
                    partner = reservation.Waiting;
                    if (partner is not null)
                    {
                        Free(slot);
                        partner.TryMove(partner.Word, PartyPhase.Left);
                    }
                }
                else if (_perAddress.Enabled && !_perAddress.TryEnter(leg.Address))
                {
                    refusal = RelayRefusal.PerIp;
                }
                else
                {
                    leg.CountAgainstRelayCap();
                    reservation.Spent |= (byte)(1 << side);
                    if (reservation.Waiting is null)
                    {
                        reservation.Waiting = leg;
                        leg.AwaitRelayPartner(slot, now + (long)_options.JoinTimeout.TotalMilliseconds);
                        return;
                    }
                    partner = reservation.Waiting;
                    Free(slot);
                    Interlocked.Increment(ref _sessions);
                    partner.EnterRelaying();
                    leg.EnterRelaying();
                }
            }
        }
        if (refusal is { } reason)
        {
            ref long counter = ref CounterFor(reason);
            leg.RefuseRelay(reason, ref counter);
            partner?.RefuseRelay(reason, ref counter);
            return;
        }
        ServerCounters.Add(ref _counters.RelayJoined);
        Interlocked.Increment(ref _counters.RelayActive);
        // Both hear JOINED before any relayed byte: neither sends past its key until then.
        bool joined = partner!.TrySendJoined() & leg.TrySendJoined();
        Engine.Start(partner, leg, joined);
    }

    /// <summary>
    /// Called by the heartbeat for a parked leg past its deadline (seen with <paramref name="observed"/>):
    /// the leg is closed with <c>REFUSED timeout</c>, and its session's tokens die.
    /// </summary>
    public void ExpireLeg(ClientSession leg, long observed)
    {
        lock (_gate)
        {
            int slot = leg.RelaySlot;
            if (leg.Word != observed || slot < 0 || !ReferenceEquals(_slots[slot].Waiting, leg))
            {
                return;
            }
            Free(slot);
            leg.TryMove(observed, PartyPhase.Left);
        }
        leg.RefuseRelay(RelayRefusal.Timeout, ref _counters.RelayLegTimeouts);
    }

    /// <summary>A leg that counted against the per-address cap has closed.</summary>
    public void Leave(in Punchhole.Protocol.PeerAddress address)
    {
        if (_perAddress.Enabled)
        {
            _perAddress.Leave(address);
        }
    }

    /// <summary>Stops issuing tokens and taking legs, closes parked legs, and aborts every relayed session.</summary>
    public void Stop()
    {
        List<ClientSession> parked = [];
        lock (_gate)
        {
            if (_stopping)
            {
                return;
            }
            _stopping = true;
            for (int slot = 0; slot < _slots.Length; slot++)
            {
                if (_slots[slot].InUse)
                {
                    if (_slots[slot].Waiting is { } leg)
                    {
                        parked.Add(leg);
                        leg.TryMove(leg.Word, PartyPhase.Left);
                    }
                    Free(slot);
                }
            }
        }
        long uncounted = 0;
        foreach (var leg in parked)
        {
            leg.RefuseRelay(RelayRefusal.Shutdown, ref uncounted);
        }
        Engine.Dispose();
    }

    public void Dispose() => Stop();

    private ref long CounterFor(RelayRefusal reason)
    {
        switch (reason)
        {
            case RelayRefusal.Busy:
                return ref _counters.RelayRejectedBusy;
            case RelayRefusal.PerIp:
                return ref _counters.RelayRejectedPerIp;
            default:
                return ref _counters.RelayRefused;
        }
    }

    /// <summary>A free slot; when none is left, slots whose tokens expired unused are reclaimed first (at most ten times a second).</summary>
    private bool TryAllocate(long now, out int slot)
    {
        if (_freeCount == 0 && now >= _nextSweep)
        {
            _nextSweep = now + 100;
            for (int i = 0; i < _slots.Length; i++)
            {
                if (_slots[i].InUse && _slots[i].Waiting is null && now >= _slots[i].Expires)
                {
                    Free(i);
                }
            }
        }
        if (_freeCount == 0)
        {
            slot = -1;
            return false;
        }
        slot = _free[--_freeCount];
        return true;
    }

    private void Free(int slot)
    {
        ref var reservation = ref _slots[slot];
        _byToken.Remove(reservation.First);
        _byToken.Remove(reservation.Second);
        if (reservation.Waiting is { } leg)
        {
            leg.RelaySlot = -1;
        }
        reservation = default;
        _free[_freeCount++] = slot;
    }

    /// <summary>One issued pair of tokens: the waiter's (First) and the arrival's (Second).</summary>
    private struct Reservation(RelayToken first, RelayToken second, long expires)
    {
        public RelayToken First = first;
        public RelayToken Second = second;

        /// <summary>When the tokens die if no leg has come (TickCount64 milliseconds).</summary>
        public long Expires = expires;

        /// <summary>The first leg, parked until the second comes.</summary>
        public ClientSession? Waiting;

        /// <summary>Bit 0: First was used; bit 1: Second was.</summary>
        public byte Spent;

        public readonly bool InUse => !First.IsEmpty;
    }
}
