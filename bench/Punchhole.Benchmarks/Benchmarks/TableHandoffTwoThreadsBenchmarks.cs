using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Punchhole.Benchmarks.InMemory;
using Punchhole.Benchmarks.Naive;
using Punchhole.Benchmarks.Support;
using Punchhole.Protocol;
using Punchhole.Server;

namespace Punchhole.Benchmarks.Benchmarks;

/// <summary>
/// Handoffs with two threads at once, <see cref="Pairs"/> per run, two ways (each with its own baseline):
/// <list type="bullet">
/// <item>split: both threads walk the same keys, one with the first client of each pair and one
/// with the second, so whichever comes second to a key takes the other out of the table and
/// completes its wait across threads, as two I/O threads of a server would;</item>
/// <item>own: each thread pairs its own half of the keys, both clients of a pair on one thread:
/// the table shared by two busy threads, with no handoff between them.</item>
/// </list>
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
    private PairingTable _table = null!;
    private SecondThread _secondThread = null!;
    private Action _naiveFirsts0 = null!, _naiveSeconds0 = null!, _tableFirsts = null!, _tableSeconds = null!;
    private Action _naiveLowHalf = null!, _naiveHighHalf = null!, _tableLowHalf = null!, _tableHighHalf = null!;

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
        _table = new PairingTable(Pairs, KeyHasher.CreateRandom());
        _secondThread = new SecondThread();
        // Made once, so no delegate is allocated inside a measurement.
        _naiveFirsts0 = () => ArriveNaive(_firsts, _naiveFirsts, 0, Pairs);
        _naiveSeconds0 = () => ArriveNaive(_seconds, _naiveSeconds, 0, Pairs);
        _tableFirsts = () => ArriveTable(_firsts, 0, Pairs);
        _tableSeconds = () => ArriveTable(_seconds, 0, Pairs);
        _naiveLowHalf = () => PairNaive(0, Pairs / 2);
        _naiveHighHalf = () => PairNaive(Pairs / 2, Pairs);
        _tableLowHalf = () => PairTable(0, Pairs / 2);
        _tableHighHalf = () => PairTable(Pairs / 2, Pairs);
    }

    [GlobalCleanup]
    public void Cleanup() => _secondThread.Dispose();

    /// <summary>Dictionary behind one lock, and a new TaskCompletionSource for every waiter, which awaits it.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = Pairs)]
    [BenchmarkCategory(Split)]
    public void SplitLockedDictionaryAndNewCompletion() => _secondThread.Run(_naiveFirsts0, _naiveSeconds0);

    /// <summary>The per-bucket spin-locked table and the pooled completion of <see cref="RendezvousParty"/>.</summary>
    [Benchmark(OperationsPerInvoke = Pairs)]
    [BenchmarkCategory(Split)]
    public void SplitPairingTableAndPooledCompletion()
    {
        _secondThread.Run(_tableFirsts, _tableSeconds);
        AwaitEveryWait();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Pairs)]
    [BenchmarkCategory(Own)]
    public void OwnLockedDictionaryAndNewCompletion() => _secondThread.Run(_naiveLowHalf, _naiveHighHalf);

    [Benchmark(OperationsPerInvoke = Pairs)]
    [BenchmarkCategory(Own)]
    public void OwnPairingTableAndPooledCompletion()
    {
        _secondThread.Run(_tableLowHalf, _tableHighHalf);
        AwaitEveryWait();
    }

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

    private void ArriveTable(InMemoryParty[] side, int from, int to)
    {
        for (int i = from; i < to; i++)
        {
            var party = side[i];
            party.Arrive(_keys[i]);
            if (_table.PairOrWait(party, out var found) == PairingResult.Paired)
            {
                found!.Signal(PairOutcome.PairedWith(party.Address));
            }
            else
            {
                party.Wait();
            }
        }
    }

    private void PairTable(int from, int to)
    {
        ArriveTable(_firsts, from, to);
        ArriveTable(_seconds, from, to);
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
}
