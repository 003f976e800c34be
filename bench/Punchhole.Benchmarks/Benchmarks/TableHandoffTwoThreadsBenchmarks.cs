using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Punchhole.Benchmarks.InMemory;
using Punchhole.Benchmarks.Naive;
using Punchhole.Benchmarks.Reference;
using Punchhole.Benchmarks.Support;
using Punchhole.Protocol;
using Punchhole.Server;

namespace Punchhole.Benchmarks.Benchmarks;

/// <summary>
/// Handoffs with two threads at once, <see cref="Pairs"/> per run, two ways (each with its own baseline,
/// tstun's previous table, a spin lock per bucket):
/// <list type="bullet">
/// <item>split: both threads walk the same keys, one with the first client of each pair and one
/// with the second, so whichever comes second to a key takes the other out of the table and
/// completes its wait across threads, as two I/O threads of a server would;</item>
/// <item>own: each thread pairs its own half of the keys, both clients of a pair on one thread:
/// the table shared by two busy threads, with no handoff between them.</item>
/// </list>
/// Each way runs the lock-free table, the spin-lock table, one plain lock (all three with the pooled
/// completion) and the naive Dictionary with a new TaskCompletionSource per waiter.
/// Results are per pairing. In the split case a signal can land between a waiter's check and its
/// registration; the pooled completion then runs the continuation on the thread pool instead of
/// inline, and each run waits for those before its parties arrive again.
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class TableHandoffTwoThreadsBenchmarks
{
    private const int Pairs = 4096;
    private const string Split = "split", Own = "own";

    private readonly SessionKey[] _keys = new SessionKey[Pairs];
    private readonly InMemoryParty[] _firsts = new InMemoryParty[Pairs];
    private readonly InMemoryParty[] _seconds = new InMemoryParty[Pairs];
    private readonly Task<PeerAddress>[] _naiveFirsts = new Task<PeerAddress>[Pairs];
    private readonly Task<PeerAddress>[] _naiveSeconds = new Task<PeerAddress>[Pairs];
    private LockedWaiterTable _naive = null!;
    private SecondThread _secondThread = null!;
    private Action _naiveFirsts0 = null!, _naiveSeconds0 = null!, _naiveLowHalf = null!, _naiveHighHalf = null!;
    private Ways _lockFree = null!, _spinLock = null!, _plainLock = null!;

    [GlobalSetup]
    public void Setup()
    {
        byte[] wire = Samples.WireKeys(Pairs);
        for (int i = 0; i < Pairs; i++)
        {
            _keys[i] = SessionKey.Read(Samples.Key(wire, i));
            _firsts[i] = new InMemoryParty(Samples.Client(2 * i));
            _seconds[i] = new InMemoryParty(Samples.Client(2 * i + 1));
        }
        _naive = new LockedWaiterTable();
        _secondThread = new SecondThread();
        // Made once, so no delegate is allocated inside a measurement.
        _naiveFirsts0 = () => ArriveNaive(_firsts, _naiveFirsts, 0, Pairs);
        _naiveSeconds0 = () => ArriveNaive(_seconds, _naiveSeconds, 0, Pairs);
        _naiveLowHalf = () => PairNaive(0, Pairs / 2);
        _naiveHighHalf = () => PairNaive(Pairs / 2, Pairs);
        _lockFree = MakeWays(new LockFreeTable(new PairingTable(Pairs, KeyHasher.CreateRandom())));
        _spinLock = MakeWays(new SpinLockTable(new SpinLockPairingTable(Pairs, KeyHasher.CreateRandom())));
        _plainLock = MakeWays(new PlainLockTable(new LockedPairingTable(Pairs)));
    }

    [GlobalCleanup]
    public void Cleanup() => _secondThread.Dispose();

    [Benchmark(Baseline = true, OperationsPerInvoke = Pairs)]
    [BenchmarkCategory(Split)]
    public void SplitSpinLockTable() => RunSplit(_spinLock);

    [Benchmark(OperationsPerInvoke = Pairs)]
    [BenchmarkCategory(Split)]
    public void SplitLockFreeTable() => RunSplit(_lockFree);

    [Benchmark(OperationsPerInvoke = Pairs)]
    [BenchmarkCategory(Split)]
    public void SplitPlainLockTable() => RunSplit(_plainLock);

    /// <summary>Dictionary behind one lock, and a new TaskCompletionSource for every waiter, which awaits it.</summary>
    [Benchmark(OperationsPerInvoke = Pairs)]
    [BenchmarkCategory(Split)]
    public void SplitLockedDictionaryAndNewCompletion() => _secondThread.Run(_naiveFirsts0, _naiveSeconds0);

    [Benchmark(Baseline = true, OperationsPerInvoke = Pairs)]
    [BenchmarkCategory(Own)]
    public void OwnSpinLockTable() => RunOwn(_spinLock);

    [Benchmark(OperationsPerInvoke = Pairs)]
    [BenchmarkCategory(Own)]
    public void OwnLockFreeTable() => RunOwn(_lockFree);

    [Benchmark(OperationsPerInvoke = Pairs)]
    [BenchmarkCategory(Own)]
    public void OwnPlainLockTable() => RunOwn(_plainLock);

    [Benchmark(OperationsPerInvoke = Pairs)]
    [BenchmarkCategory(Own)]
    public void OwnLockedDictionaryAndNewCompletion() => _secondThread.Run(_naiveLowHalf, _naiveHighHalf);

    private void RunSplit(Ways ways)
    {
        _secondThread.Run(ways.Firsts, ways.Seconds);
        AwaitEveryWait();
    }

    private void RunOwn(Ways ways)
    {
        _secondThread.Run(ways.LowHalf, ways.HighHalf);
        AwaitEveryWait();
    }

    private Ways MakeWays<TTable>(TTable table) where TTable : struct, IHandoffTable => new(
        () => ArriveTable(table, _firsts, 0, Pairs),
        () => ArriveTable(table, _seconds, 0, Pairs),
        () => PairTable(table, 0, Pairs / 2),
        () => PairTable(table, Pairs / 2, Pairs));

    private void ArriveNaive(InMemoryParty[] side, Task<PeerAddress>[] results, int from, int to)
    {
        for (int i = from; i < to; i++)
        {
            var partner = _naive.PairOrWait(_keys[i], side[i].Address);
            results[i] = partner.IsCompleted ? partner : NaiveWaiter.AwaitPartnerAsync(partner);
        }
    }

    private void PairNaive(int from, int to)
    {
        ArriveNaive(_firsts, _naiveFirsts, from, to);
        ArriveNaive(_seconds, _naiveSeconds, from, to);
    }

    private void ArriveTable<TTable>(TTable table, InMemoryParty[] side, int from, int to) where TTable : struct, IHandoffTable
    {
        for (int i = from; i < to; i++)
        {
            var party = side[i];
            party.Arrive(_keys[i]);
            if (table.PairOrWait(party, out var found) == PairingResult.Paired)
            {
                found!.Signal(PairOutcome.PairedWith(party.Address));
            }
            else
            {
                party.Wait();
            }
        }
    }

    private void PairTable<TTable>(TTable table, int from, int to) where TTable : struct, IHandoffTable
    {
        ArriveTable(table, _firsts, from, to);
        ArriveTable(table, _seconds, from, to);
    }

    /// <summary>Every wait must have ended before its party arrives again (see InMemoryParty.Wait).</summary>
    private void AwaitEveryWait()
    {
        for (int i = 0; i < Pairs; i++)
        {
            _firsts[i].AwaitEnded();
            _seconds[i].AwaitEnded();
        }
    }

    /// <summary>The four bodies one table runs, made once per table.</summary>
    private sealed record Ways(Action Firsts, Action Seconds, Action LowHalf, Action HighHalf);
}
