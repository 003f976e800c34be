using BenchmarkDotNet.Attributes;
using Punchhole.Benchmarks.InMemory;
using Punchhole.Benchmarks.Naive;
using Punchhole.Benchmarks.Support;
using Punchhole.Protocol;
using Punchhole.Server;

namespace Punchhole.Benchmarks.Benchmarks;

/// <summary>
/// Handoffs with two threads racing: both walk the same <see cref="Pairs"/> keys, one with the
/// first client of each pair and one with the second, so whichever comes second to a key takes
/// the other out of the table and completes its wait. Every key meets on both threads, as two
/// I/O threads of the server meet. Results are per pairing.
/// When a signal lands between a waiter's check and its registration, the pooled completion runs
/// the waiter's continuation on the thread pool instead of inline; the run waits for those too.
/// </summary>
[MemoryDiagnoser]
public class TableHandoffTwoThreadsBenchmarks
{
    private const int Pairs = 4096;

    private readonly SessionKey[] _keys = new SessionKey[Pairs];
    private readonly InMemoryParty[] _firsts = new InMemoryParty[Pairs];
    private readonly InMemoryParty[] _seconds = new InMemoryParty[Pairs];
    private readonly Task<PeerAddress>[] _naiveFirsts = new Task<PeerAddress>[Pairs];
    private readonly Task<PeerAddress>[] _naiveSeconds = new Task<PeerAddress>[Pairs];
    private LockedWaiterTable _naive = null!;
    private PairingTable _table = null!;
    private SecondThread _secondThread = null!;
    private Action _naiveFirstSide = null!, _naiveSecondSide = null!, _tableFirstSide = null!, _tableSecondSide = null!;

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
        _naiveFirstSide = () => RunNaive(_firsts, _naiveFirsts);
        _naiveSecondSide = () => RunNaive(_seconds, _naiveSeconds);
        _tableFirstSide = () => RunTable(_firsts);
        _tableSecondSide = () => RunTable(_seconds);
    }

    [GlobalCleanup]
    public void Cleanup() => _secondThread.Dispose();

    /// <summary>Dictionary behind one lock, and a new TaskCompletionSource for every waiter.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = Pairs)]
    public void LockedDictionaryAndNewCompletion() => _secondThread.Run(_naiveFirstSide, _naiveSecondSide);

    /// <summary>The per-bucket spin-locked table and the pooled completion of <see cref="RendezvousParty"/>.</summary>
    [Benchmark(OperationsPerInvoke = Pairs)]
    public void PairingTableAndPooledCompletion()
    {
        _secondThread.Run(_tableFirstSide, _tableSecondSide);
        // Every wait must have ended before its party arrives again (see InMemoryParty.Wait).
        for (int i = 0; i < Pairs; i++)
        {
            _firsts[i].AwaitEnded();
            _seconds[i].AwaitEnded();
        }
    }

    private void RunNaive(InMemoryParty[] side, Task<PeerAddress>[] results)
    {
        for (int i = 0; i < Pairs; i++)
        {
            results[i] = _naive.PairOrWait(_keys[i], side[i].Address);
        }
    }

    private void RunTable(InMemoryParty[] side)
    {
        for (int i = 0; i < Pairs; i++)
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
}
