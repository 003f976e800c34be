using System.Collections.Concurrent;
using System.Diagnostics;
using System.Security.Cryptography;
using Punchhole.Protocol;
using Punchhole.Server;

namespace Punchhole.Tests.Stress;

/// <summary>What happened, as the thread that did it saw it.</summary>
internal enum StressOp
{
    /// <summary>An arrival claimed a waiter: Party paired with Other (or, with GaveUp, found it dead and looks again).</summary>
    Paired,

    /// <summary>An arrival was told to wait.</summary>
    Waited,

    /// <summary>An arrival was refused: the table was full.</summary>
    Full,

    /// <summary>A thread ended Party's wait (a timeout or a disconnect, as the heartbeat or the watcher would).</summary>
    Left,

    /// <summary>Party's wait-end continuation ran, with End and Partner.</summary>
    Ended,

    /// <summary>A second completion of one wait was refused by the completion source.</summary>
    SignalRefused,

    /// <summary>An arrival's own move to Confirming and back failed, or changed more than its phase.</summary>
    BadMove,

    /// <summary>A worker thread threw.</summary>
    Crashed,
}

/// <summary>One logged operation. Times are <see cref="Stopwatch"/> ticks taken just before and just after it.</summary>
internal readonly record struct StressEvent(
    StressOp Op, int Party, uint Generation, int Key, long Start, long End,
    int Other = -1, uint OtherGeneration = 0, PartyPhase OtherPhase = PartyPhase.Idle,
    WaitEnd WaitEnd = WaitEnd.Paired, PeerAddress Partner = default, string? Error = null, bool GaveUp = false);

/// <summary>
/// A stress run: more threads than cores hammer one table with arrivals (pair or wait) and ends of
/// waits (timeouts and disconnects) on a few overlapping keys, for a bounded time. Some arrivals
/// give up the waiter they claimed, as tstun's does when the waiter's TCP does not acknowledge its
/// reply: the waiter ends Gone, and the arrival pairs again in the same generation. Every thread
/// logs what it did on its own; the completions log what they received. Then the run stops,
/// lets the table settle, looks at it, ends every wait left, and refills it to the cap.
/// <see cref="StressChecker"/> judges the merged logs and those looks.
/// </summary>
internal sealed class StressRun
{
    private const int PartiesPerWorker = 6;
    private const int MaxEventsPerWorker = 150_000;

    /// <summary>One claim in this many finds its waiter dead.</summary>
    private const int GiveUpOneIn = 8;

    private readonly IStressTable _table;
    private readonly SessionKey[] _keys;
    private readonly StressParty[] _parties;
    private readonly List<StressEvent>[] _logs;
    private readonly ConcurrentQueue<StressEvent> _ends = new();
    private readonly int _workers;
    private readonly int _seed;
    private volatile bool _stopping;

    public StressRun(IStressTable table, int keys, int workers, int seed)
    {
        _table = table;
        _workers = workers;
        _seed = seed;
        _keys = Enumerable.Range(0, keys).Select(_ => SessionKey.Read(RandomNumberGenerator.GetBytes(SessionKey.Length))).ToArray();
        _parties = Enumerable.Range(0, workers * PartiesPerWorker).Select(i => new StressParty(this, i)).ToArray();
        _logs = Enumerable.Range(0, workers + 1).Select(_ => new List<StressEvent>(4096)).ToArray();
    }

    public int Keys => _keys.Length;

    public int Capacity => _table.Capacity;

    /// <summary>Table.Count once the run settled, and how many parties were waiting then, by key.</summary>
    public int SettledCount { get; private set; }

    public int[] SettledWaitingByKey { get; private set; } = [];

    /// <summary>Table.Count after every wait was ended.</summary>
    public int DrainedCount { get; private set; }

    /// <summary>What refilling the drained table to its cap gave: how many waited, and what the one past the cap got.</summary>
    public int RefillWaited { get; private set; }

    public PairingResult RefillPastCap { get; private set; }

    public int RefilledCountAfterEmptying { get; private set; }

    /// <summary>Parties still busy when the run gave up waiting for it to settle (should be none).</summary>
    public int Unsettled { get; private set; }

    public TimeSpan Elapsed { get; private set; }

    /// <summary>Every logged event of the run proper (the refill after it is judged by its counts alone).</summary>
    public IEnumerable<StressEvent> Events => _logs.SelectMany(l => l).Concat(_ends).Where(e => e.Party < _parties.Length);

    public void Run(TimeSpan duration)
    {
        var clock = Stopwatch.StartNew();
        var threads = Enumerable.Range(0, _workers).Select(w => new Thread(() => Work(w)) { IsBackground = true, Name = $"stress {w}" }).ToArray();
        foreach (var thread in threads)
        {
            thread.Start();
        }
        Thread.Sleep(duration);
        _stopping = true;
        foreach (var thread in threads)
        {
            if (!thread.Join(TimeSpan.FromSeconds(30)))
            {
                throw new TimeoutException($"{thread.Name} did not stop: a table operation never returned");
            }
        }
        Elapsed = clock.Elapsed;

        // Settle: every continuation queued to the thread pool has run; only real waiters stay busy.
        var log = _logs[_workers];
        try
        {
            SettleUntil(p => Volatile.Read(ref p.Busy) == 0 || RendezvousParty.PhaseOf(p.Word) == PartyPhase.Waiting);
            SettledCount = _table.Count;
            SettledWaitingByKey = new int[_keys.Length];
            foreach (var party in _parties.Where(p => RendezvousParty.PhaseOf(p.Word) == PartyPhase.Waiting))
            {
                SettledWaitingByKey[party.KeyIndex]++;
            }

            // Drain: end every wait that is left, as a server's shutdown does.
            foreach (var party in _parties)
            {
                TryEndWait(party, WaitEnd.ShuttingDown, log);
            }
            Unsettled = SettleUntil(p => Volatile.Read(ref p.Busy) == 0);
            DrainedCount = _table.Count;
            Refill();
        }
        catch (Exception e)
        {
            // A broken table may throw here too (a flawed build detects a looping chain): judged like a worker's.
            log.Add(new StressEvent(StressOp.Crashed, -1, 0, -1, Stopwatch.GetTimestamp(), Stopwatch.GetTimestamp(), Error: e.ToString()));
        }
    }

    /// <summary>A worker: its own parties arrive, and it ends random parties' waits.</summary>
    private void Work(int worker)
    {
        var random = new Random(_seed * 1000 + worker);
        var log = _logs[worker];
        var mine = _parties.AsSpan(worker * PartiesPerWorker, PartiesPerWorker);
        try
        {
            while (!_stopping && log.Count < MaxEventsPerWorker)
            {
                int roll = random.Next(100);
                if (roll < 70)
                {
                    Arrive(mine, random, log);
                }
                else
                {
                    TryEndWait(_parties[random.Next(_parties.Length)], random.Next(2) == 0 ? WaitEnd.TimedOut : WaitEnd.Disconnected, log);
                }
                if (roll == 0)
                {
                    Thread.Yield();
                }
            }
        }
        catch (Exception e)
        {
            log.Add(new StressEvent(StressOp.Crashed, -1, 0, -1, Stopwatch.GetTimestamp(), Stopwatch.GetTimestamp(), Error: e.ToString()));
        }
    }

    private void Arrive(Span<StressParty> mine, Random random, List<StressEvent> log)
    {
        int from = random.Next(mine.Length);
        StressParty? party = null;
        for (int i = 0; i < mine.Length && party is null; i++)
        {
            var candidate = mine[(from + i) % mine.Length];
            if (Volatile.Read(ref candidate.Busy) == 0)
            {
                party = candidate;
            }
        }
        if (party is null)
        {
            return;
        }
        Volatile.Write(ref party.Busy, 1);
        int key = random.Next(_keys.Length);
        party.Arrive(key, _keys[key]);
        uint generation = party.Generation;
        while (true)
        {
            long start = Stopwatch.GetTimestamp();
            var result = _table.PairOrWait(party, out var found);
            long end = Stopwatch.GetTimestamp();
            switch (result)
            {
                case PairingResult.Paired:
                    var partner = (StressParty)found!;
                    long word = partner.Word;
                    bool giveUp = random.Next(GiveUpOneIn) == 0;
                    log.Add(new StressEvent(StressOp.Paired, party.Id, generation, key, start, end,
                        partner.Id, (uint)(word >> 32), RendezvousParty.PhaseOf(word), GaveUp: giveUp));
                    if (giveUp)
                    {
                        var (before, after, moved) = party.ConfirmAndGiveUp();
                        if (!moved || before != after)
                        {
                            long now = Stopwatch.GetTimestamp();
                            log.Add(new StressEvent(StressOp.BadMove, party.Id, generation, key, now, now,
                                Error: $"moved: {moved}, word {before:X16} became {after:X16}"));
                        }
                        Signal(partner, PairOutcome.Ended(WaitEnd.Gone), log);
                        continue;
                    }
                    Signal(partner, PairOutcome.PairedWith(party.Address), log);
                    Volatile.Write(ref party.Busy, 0);
                    return;
                case PairingResult.Waiting:
                    log.Add(new StressEvent(StressOp.Waited, party.Id, generation, key, start, end));
                    party.AwaitEnd();
                    return;
                default:
                    log.Add(new StressEvent(StressOp.Full, party.Id, generation, key, start, end));
                    Volatile.Write(ref party.Busy, 0);
                    return;
            }
        }
    }

    /// <summary>Ends a wait as the heartbeat or the disconnect watcher does: from a word read first, which may be stale by the time it is used.</summary>
    private void TryEndWait(StressParty party, WaitEnd why, List<StressEvent> log)
    {
        long start = Stopwatch.GetTimestamp();
        long word = party.Word;
        if (RendezvousParty.PhaseOf(word) != PartyPhase.Waiting || !party.TryMove(word, PartyPhase.Left))
        {
            return;
        }
        int key = party.KeyIndex;
        _table.Remove(party);
        log.Add(new StressEvent(StressOp.Left, party.Id, (uint)(word >> 32), key, start, Stopwatch.GetTimestamp()));
        Signal(party, PairOutcome.Ended(why), log);
    }

    private static void Signal(StressParty party, in PairOutcome outcome, List<StressEvent> log)
    {
        try
        {
            party.Signal(outcome);
        }
        catch (InvalidOperationException e)
        {
            long now = Stopwatch.GetTimestamp();
            log.Add(new StressEvent(StressOp.SignalRefused, party.Id, party.Generation, -1, now, now, Error: e.Message));
        }
    }

    public void OnWaitEnded(StressParty party, in PairOutcome outcome)
    {
        long now = Stopwatch.GetTimestamp();
        _ends.Enqueue(new StressEvent(StressOp.Ended, party.Id, party.Generation, party.KeyIndex, now, now,
            WaitEnd: outcome.End, Partner: outcome.Partner));
        Volatile.Write(ref party.Busy, 0);
    }

    /// <summary>Waits (at most 5 s) until every party meets <paramref name="settled"/>; returns how many do not.</summary>
    private int SettleUntil(Func<StressParty, bool> settled)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(5))
        {
            if (_parties.All(settled))
            {
                return 0;
            }
            Thread.Sleep(5);
        }
        return _parties.Count(p => !settled(p));
    }

    /// <summary>Every place must be free again: the cap's worth of new keys all wait, one more is refused, then they all leave.</summary>
    private void Refill()
    {
        var log = new List<StressEvent>();
        var fresh = Enumerable.Range(0, Capacity + 1).Select(i => new StressParty(this, _parties.Length + i)).ToArray();
        for (int i = 0; i < Capacity; i++)
        {
            fresh[i].Arrive(-1, SessionKey.Read(RandomNumberGenerator.GetBytes(SessionKey.Length)));
            Volatile.Write(ref fresh[i].Busy, 1);
            if (_table.PairOrWait(fresh[i], out _) == PairingResult.Waiting)
            {
                RefillWaited++;
                fresh[i].AwaitEnd();
            }
        }
        fresh[Capacity].Arrive(-1, SessionKey.Read(RandomNumberGenerator.GetBytes(SessionKey.Length)));
        RefillPastCap = _table.PairOrWait(fresh[Capacity], out _);
        foreach (var party in fresh)
        {
            TryEndWait(party, WaitEnd.ShuttingDown, log);
        }
        RefilledCountAfterEmptying = _table.Count;
    }
}
