using Punchhole.Protocol;
using Punchhole.Protocol.V2;

namespace Punchhole.Server;

/// <summary>
/// The relay (tstun --relay) as the rest of the server sees it: it issues token pairs to pairs of
/// v2 clients that both said <c>relay-ok</c>, checks each arriving leg's token and caps, parks the
/// first leg of a session and joins the second to it, then hands the pair to the
/// <see cref="RelayEngine"/>, which copies their bytes on its own thread.
/// </summary>
/// <remarks>
/// Issuing tokens is on the pairing path, which takes no lock: a reservation is a slot holding
/// both tokens, taken from a lock-free stack of free slots and handed over on a lock-free stack of
/// issued ones. Everything else (token lookups, leg parking, freeing slots) shares one lock, taken
/// only by relay legs, the relay thread's sweep once a second, and shutdown; it first moves the
/// issued slots into the token dictionary. A client can only present a token after its PEER line
/// was sent, which is after its slot was pushed, so a leg always finds its token. The dictionary is
/// sized for every slot up front, so nothing here allocates. Tokens are single-use: a token is
/// spent by the first leg that arrives with it, and both tokens of a slot die together when the
/// session joins, when its first leg gives up waiting, or (with no leg arrived) 60 s after issue.
/// </remarks>
internal sealed class RelayService : IDisposable
{
    private readonly RelayOptions _options;
    private readonly ServerCounters _counters;
    private readonly Lock _gate = new();
    private readonly Reservation[] _slots;
    private readonly SlotStack _free;
    private readonly SlotStack _issued;
    private readonly Dictionary<RelayToken, int> _byToken;
    private readonly PerAddressLimit _perAddress;
    private readonly PeerAddress _relayAt;
    private int _sessions;
    private volatile bool _stopping;

    public RelayService(RelayOptions options, ServerCounters counters, ServerLog log)
    {
        _options = options;
        _counters = counters;
        int capacity = options.MaxReservations;
        _slots = new Reservation[capacity];
        _free = new SlotStack(capacity);
        _issued = new SlotStack(capacity);
        for (int i = capacity - 1; i >= 0; i--)
        {
            _free.Push(i);
        }
        _byToken = new Dictionary<RelayToken, int>(2 * capacity);
        _perAddress = new PerAddressLimit(options.MaxPerIp);
        _relayAt = options.PublicPeerAddress;
        Engine = new RelayEngine(options, counters, log, () => Interlocked.Decrement(ref _sessions), Sweep);
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
                TakeIssued();
                int count = 0;
                foreach (var reservation in _slots)
                {
                    count += reservation.Registered ? 1 : 0;
                }
                return count;
            }
        }
    }

    /// <summary>
    /// Gives the waiter and the arrival of a pair each a fresh token, or none when every
    /// reservation is taken (counted in <c>relay_unoffered</c>). On the pairing path, before the
    /// waiter's reply is written: lock-free, and allocation-free.
    /// </summary>
    public void Reserve(CandidateOffer waiter, CandidateOffer arrival)
    {
        if (TryReserve(out int slot, out var first, out var second))
        {
            (waiter.Token, waiter.RelayAt, waiter.Reservation) = (first, _relayAt, slot);
            (arrival.Token, arrival.RelayAt, arrival.Reservation) = (second, _relayAt, slot);
        }
    }

    /// <summary>
    /// The same for a pair formed across instances (--redis), whose arrival is another instance's
    /// client: the session is this instance's, so both legs come here, at <see cref="RelayOptions.PublicAddress"/>.
    /// The arrival's token travels to its instance in the answer to the claim; false (nothing reserved)
    /// without a public address, since the other instance's client could not otherwise find this relay.
    /// </summary>
    public bool ReserveForRemote(CandidateOffer waiter, out RelayToken arrivalToken, out PeerAddress relayAt)
    {
        arrivalToken = default;
        relayAt = _relayAt;
        if (relayAt.Port == 0 || !TryReserve(out int slot, out var first, out arrivalToken))
        {
            return false;
        }
        (waiter.Token, waiter.RelayAt, waiter.Reservation) = (first, relayAt, slot);
        return true;
    }

    private bool TryReserve(out int slot, out RelayToken first, out RelayToken second)
    {
        if (_stopping || !_free.TryPop(out slot))
        {
            ServerCounters.Add(ref _counters.RelayUnoffered);
            slot = -1;
            first = second = default;
            return false;
        }
        first = RelayToken.CreateRandom();
        second = RelayToken.CreateRandom();
        _slots[slot] = new Reservation(first, second, Environment.TickCount64 + (long)RelayOptions.TokenLifetime.TotalMilliseconds);
        _issued.Push(slot);
        return true;
    }

    /// <summary>
    /// The pair did not happen after all (the waiter was gone): its tokens are not passed on. The
    /// waiter's own may have reached it, so they stay valid until they expire unused (the sweep frees
    /// them); nothing shared is touched here, on the pairing path.
    /// </summary>
    public static void Withdraw(CandidateOffer waiter, CandidateOffer arrival)
    {
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
            TakeIssued();
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
    public void Leave(in PeerAddress address)
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
            TakeIssued();
            for (int slot = 0; slot < _slots.Length; slot++)
            {
                if (_slots[slot].Registered)
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

    /// <summary>Moves the slots issued since the last call into the token dictionary. Under the lock.</summary>
    private void TakeIssued()
    {
        for (int slot = _issued.TakeAll(); slot >= 0;)
        {
            int next = _issued.After(slot);
            ref var reservation = ref _slots[slot];
            // Two equal 128-bit random tokens (probability 2^-128): the slot's legs are refused as unknown.
            if (!_byToken.TryAdd(reservation.First, 2 * slot))
            {
                reservation.First = default;
            }
            if (reservation.First.IsEmpty || !_byToken.TryAdd(reservation.Second, 2 * slot + 1))
            {
                Free(slot);
            }
            else
            {
                reservation.Registered = true;
            }
            slot = next;
        }
    }

    /// <summary>Frees the slots whose tokens expired with no leg arrived (the relay thread, once a second).</summary>
    private void Sweep(long now)
    {
        lock (_gate)
        {
            TakeIssued();
            for (int i = 0; i < _slots.Length; i++)
            {
                if (_slots[i].Registered && _slots[i].Waiting is null && now >= _slots[i].Expires)
                {
                    Free(i);
                }
            }
        }
    }

    private void Free(int slot)
    {
        ref var reservation = ref _slots[slot];
        RemoveToken(reservation.First, 2 * slot);
        RemoveToken(reservation.Second, 2 * slot + 1);
        if (reservation.Waiting is { } leg)
        {
            leg.RelaySlot = -1;
        }
        reservation = default;
        _free.Push(slot);
    }

    /// <summary>Removes <paramref name="token"/> if it maps to <paramref name="entry"/> (an equal token of another slot stays).</summary>
    private void RemoveToken(in RelayToken token, int entry)
    {
        if (!token.IsEmpty && _byToken.TryGetValue(token, out int found) && found == entry)
        {
            _byToken.Remove(token);
        }
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

        /// <summary>
        /// In the token dictionary: set under the lock once the slot was taken from the issued stack.
        /// The lock's loops look only at registered slots; any other slot may be being written by a
        /// pairing thread that owns it.
        /// </summary>
        public bool Registered;
    }
}
