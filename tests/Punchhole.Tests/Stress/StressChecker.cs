using Punchhole.Server;

namespace Punchhole.Tests.Stress;

/// <summary>
/// Judges a stress run from its merged logs alone, independently of the table's own counting:
/// <list type="bullet">
/// <item>every wait (a party's generation that was told to wait) ended exactly once: handed out to
/// one arrival with its key, or left; never both, never twice, never a party that was not waiting;</item>
/// <item>each waiter's completion says what ended it, and who its partner was (Gone when its
/// claimer gave it up);</item>
/// <item>an arrival's move to Confirming and back changes its phase alone;</item>
/// <item>counts balance: arrivals = 2 × pairs + left + refused, and the table's count matches the
/// waiting parties once settled, 0 once drained, and its cap is whole again;</item>
/// <item>no pairing was missed: no arrival waited (or was refused) while a waiter with its key
/// was surely waiting all through its call, and no two waits with one key were surely in progress
/// at once (time stamps before and after each operation);</item>
/// <item>never more waits surely in progress at once than the cap.</item>
/// </list>
/// </summary>
internal sealed class StressChecker
{
    private const int ExamplesPerKind = 3;

    private readonly Dictionary<string, (int Count, List<string> Examples)> _violations = [];

    private StressChecker()
    {
    }

    public int Arrivals { get; private set; }

    public int Pairs { get; private set; }

    public int Waits { get; private set; }

    public int Lefts { get; private set; }

    public int Refused { get; private set; }

    /// <summary>Claims whose arrival gave the waiter up and paired again.</summary>
    public int GaveUp { get; private set; }

    public IReadOnlyCollection<string> Kinds => _violations.Keys;

    public bool Clean => _violations.Count == 0;

    public static StressChecker Check(StressRun run)
    {
        var checker = new StressChecker();
        checker.CheckLogs(run);
        checker.CheckTable(run);
        return checker;
    }

    public string Summary(StressRun run)
    {
        var lines = new List<string>
        {
            $"{run.Elapsed.TotalSeconds:0.0} s, {run.Keys} keys, cap {run.Capacity}: {Arrivals} arrivals, {Pairs} pairs ({GaveUp} given up), {Waits} waits, {Lefts} left, {Refused} refused as full"
                + $" ({Arrivals / run.Elapsed.TotalSeconds:0} arrivals/s)",
        };
        foreach (var (kind, (count, examples)) in _violations.OrderBy(v => v.Key, StringComparer.Ordinal))
        {
            lines.Add($"VIOLATION {kind}: {count}");
            lines.AddRange(examples.Select(e => "  e.g. " + e));
        }
        return string.Join(Environment.NewLine, lines);
    }

    private void Violation(string kind, string example)
    {
        if (!_violations.TryGetValue(kind, out var entry))
        {
            entry = (0, []);
        }
        if (entry.Examples.Count < ExamplesPerKind)
        {
            entry.Examples.Add(example);
        }
        _violations[kind] = (entry.Count + 1, entry.Examples);
    }

    private void CheckTable(StressRun run)
    {
        int settledWaiting = run.SettledWaitingByKey.Sum();
        if (run.SettledCount != settledWaiting)
        {
            Violation("count off once settled", $"table says {run.SettledCount}, {settledWaiting} parties wait");
        }
        for (int key = 0; key < run.SettledWaitingByKey.Length; key++)
        {
            if (run.SettledWaitingByKey[key] > 1)
            {
                Violation("two waiting with one key once settled", $"key {key}: {run.SettledWaitingByKey[key]} waiting");
            }
        }
        if (run.Unsettled != 0)
        {
            Violation("never settled", $"{run.Unsettled} parties still busy after every wait was ended");
        }
        if (run.DrainedCount != 0)
        {
            Violation("count off once drained", $"table says {run.DrainedCount} with no one waiting");
        }
        if (run.RefillWaited != run.Capacity || run.RefillPastCap != PairingResult.Full || run.RefilledCountAfterEmptying != 0)
        {
            Violation("cap not whole after the run",
                $"{run.RefillWaited} of {run.Capacity} new keys could wait, the next got {run.RefillPastCap}, count after they left {run.RefilledCountAfterEmptying}");
        }
    }

    private void CheckLogs(StressRun run)
    {
        var events = run.Events.ToArray();
        var waits = new Dictionary<(int Party, uint Generation), Wait>();
        foreach (var e in events.Where(e => e.Op == StressOp.Waited))
        {
            if (!waits.TryAdd((e.Party, e.Generation), new Wait(e)))
            {
                Violation("waited twice in one generation", $"party {e.Party} gen {e.Generation}");
            }
        }
        foreach (var e in events)
        {
            switch (e.Op)
            {
                case StressOp.Paired:
                    Pairs++;
                    Arrivals++;
                    GaveUp += e.GaveUp ? 1 : 0;
                    if (!waits.TryGetValue((e.Other, e.OtherGeneration), out var claimed))
                    {
                        Violation("handed out a party that was not waiting", $"party {e.Party} gen {e.Generation} got party {e.Other} gen {e.OtherGeneration} ({e.OtherPhase})");
                        break;
                    }
                    claimed.Claims.Add(e);
                    claimed.EndStart = Math.Min(claimed.EndStart, e.Start);
                    if (claimed.Key != e.Key)
                    {
                        Violation("paired different keys", $"party {e.Party} (key {e.Key}) got party {e.Other} (key {claimed.Key})");
                    }
                    if (e.Other == e.Party)
                    {
                        Violation("paired with itself", $"party {e.Party} gen {e.Generation}");
                    }
                    if (e.OtherPhase != PartyPhase.Paired)
                    {
                        Violation("handed out a waiter not in phase Paired", $"party {e.Other} gen {e.OtherGeneration} was {e.OtherPhase}");
                    }
                    break;
                case StressOp.Waited:
                    Waits++;
                    Arrivals++;
                    break;
                case StressOp.Full:
                    Refused++;
                    Arrivals++;
                    break;
                case StressOp.Left:
                    Lefts++;
                    if (!waits.TryGetValue((e.Party, e.Generation), out var left))
                    {
                        Violation("left a party that was not waiting", $"party {e.Party} gen {e.Generation}");
                        break;
                    }
                    left.Lefts++;
                    left.EndStart = Math.Min(left.EndStart, e.Start);
                    break;
                case StressOp.Ended:
                    if (!waits.TryGetValue((e.Party, e.Generation), out var ended))
                    {
                        Violation("completed a party that was not waiting", $"party {e.Party} gen {e.Generation}: {e.WaitEnd}");
                        break;
                    }
                    ended.Ends.Add(e);
                    break;
                case StressOp.SignalRefused:
                    Violation("completed one wait twice", $"party {e.Party} gen {e.Generation}: {e.Error}");
                    break;
                case StressOp.BadMove:
                    Violation("an arrival's move changed more than its phase", $"party {e.Party} gen {e.Generation}: {e.Error}");
                    break;
                case StressOp.Crashed:
                    Violation("a worker threw", e.Error ?? "");
                    break;
            }
        }

        foreach (var ((party, generation), wait) in waits)
        {
            string who = $"party {party} gen {generation} (key {wait.Key})";
            if (wait.Claims.Count > 1)
            {
                Violation("handed out twice", $"{who} to {string.Join(" and ", wait.Claims.Select(c => $"party {c.Party}"))}");
            }
            if (wait.Claims.Count > 0 && wait.Lefts > 0)
            {
                Violation("handed out although it left", who);
            }
            if (wait.Lefts > 1)
            {
                Violation("left twice", who);
            }
            if (wait.Claims.Count + wait.Lefts == 0)
            {
                Violation("wait never ended", who);
            }
            if (wait.Ends.Count != 1)
            {
                Violation("completion ran other than once", $"{who}: {wait.Ends.Count} times");
            }
            else if (wait.Claims.Count == 1 && wait.Lefts == 0)
            {
                var claim = wait.Claims[0];
                var end = wait.Ends[0];
                if (claim.GaveUp ? end.WaitEnd != WaitEnd.Gone || end.Partner != default
                    : end.WaitEnd != WaitEnd.Paired || end.Partner != StressParty.AddressOf(claim.Party, claim.Generation))
                {
                    Violation("waiter told the wrong partner", $"{who}: claimed by party {claim.Party} gen {claim.Generation}, told {end.WaitEnd} {end.Partner}");
                }
            }
            else if (wait.Lefts == 1 && wait.Claims.Count == 0 && wait.Ends[0].WaitEnd == WaitEnd.Paired)
            {
                Violation("waiter that left told it paired", who);
            }
        }

        // Every arrival waited, paired or was refused; every wait ended once: pairs * 2 + left + refused = arrivals.
        if (Pairs * 2 + Lefts + Refused != Arrivals)
        {
            Violation("counts do not balance", $"{Pairs} pairs * 2 + {Lefts} left + {Refused} refused != {Arrivals} arrivals");
        }

        CheckNoMissedPairing(waits.Values, events);
        foreach (var sameKey in waits.Values.GroupBy(w => w.Key))
        {
            if (MostAtOnce(sameKey) > 1)
            {
                Violation("two waiting with one key at once", $"key {sameKey.Key}: {MostAtOnce(sameKey)} waits surely in progress at once");
            }
        }
        int most = MostAtOnce(waits.Values);
        if (most > run.Capacity)
        {
            Violation("more waiting than the cap", $"{most} waits surely in progress at once, cap {run.Capacity}");
        }
    }

    /// <summary>
    /// An arrival that waited or was refused must not have had a partner surely waiting all through
    /// its call: one that had returned from its own call before this call began, and whose wait had
    /// not begun to end before this call returned.
    /// </summary>
    private void CheckNoMissedPairing(IEnumerable<Wait> waits, StressEvent[] events)
    {
        var byKey = waits.GroupBy(w => w.Key).ToDictionary(g => g.Key, g => g.OrderBy(w => w.Returned).ToArray());
        foreach (var group in events.Where(e => e.Op is StressOp.Waited or StressOp.Full).GroupBy(e => e.Key))
        {
            if (!byKey.TryGetValue(group.Key, out var candidates))
            {
                continue;
            }
            int next = 0;
            Wait? longest = null;
            foreach (var arrival in group.OrderBy(e => e.Start))
            {
                while (next < candidates.Length && candidates[next].Returned < arrival.Start)
                {
                    if (longest is null || candidates[next].EndStart > longest.EndStart)
                    {
                        longest = candidates[next];
                    }
                    next++;
                }
                if (longest is not null && longest.EndStart > arrival.End)
                {
                    Violation("missed a pairing", $"party {arrival.Party} gen {arrival.Generation} {arrival.Op} on key {arrival.Key}"
                        + $" while party {longest.Party} gen {longest.Generation} waited with it all along");
                }
            }
        }
    }

    /// <summary>
    /// The most waits surely in progress at one instant: from the waiter's return from its call to
    /// the start of the operation that ended it. Two with one key at once means a pairing was missed
    /// (whichever began to wait second had a partner waiting); more than the cap, that it did not hold.
    /// </summary>
    private static int MostAtOnce(IEnumerable<Wait> waits)
    {
        var edges = new List<(long At, int Step)>();
        foreach (var wait in waits.Where(w => w.EndStart > w.Returned))
        {
            edges.Add((wait.Returned, +1));
            edges.Add((wait.EndStart, -1));
        }
        // At a tie, count the end first: only a real overlap counts.
        edges.Sort((a, b) => a.At != b.At ? a.At.CompareTo(b.At) : a.Step.CompareTo(b.Step));
        int open = 0, most = 0;
        foreach (var (_, step) in edges)
        {
            open += step;
            most = Math.Max(most, open);
        }
        return most;
    }

    private sealed class Wait(StressEvent waited)
    {
        public int Party { get; } = waited.Party;

        public uint Generation { get; } = waited.Generation;

        public int Key { get; } = waited.Key;

        public long Returned { get; } = waited.End;

        /// <summary>When the first operation that ended the wait began; <see cref="long.MaxValue"/> if none did.</summary>
        public long EndStart { get; set; } = long.MaxValue;

        public List<StressEvent> Claims { get; } = [];

        public int Lefts { get; set; }

        public List<StressEvent> Ends { get; } = [];
    }
}
