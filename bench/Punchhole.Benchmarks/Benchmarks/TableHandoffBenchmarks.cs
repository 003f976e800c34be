using BenchmarkDotNet.Attributes;
using Punchhole.Benchmarks.InMemory;
using Punchhole.Benchmarks.Naive;
using Punchhole.Benchmarks.Reference;
using Punchhole.Benchmarks.Support;
using Punchhole.Protocol;
using Punchhole.Server;

namespace Punchhole.Benchmarks.Benchmarks;

/// <summary>
/// One handoff on one thread: the first client is added to the table and waits, the second takes
/// it out and completes its wait with its own address. Keys are parsed beforehand: this is the
/// table and the completion alone. The baseline is tstun's previous table (a spin lock per bucket);
/// the lock-free table and one plain lock use the same pooled parties and completion.
/// </summary>
[MemoryDiagnoser]
public class TableHandoffBenchmarks
{
    private readonly LockedWaiterTable _naive = new();
    private LockFreeTable _lockFree;
    private SpinLockTable _spinLock;
    private PlainLockTable _plainLock;
    private InMemoryParty _first = null!, _second = null!;
    private SessionKey _key;

    [GlobalSetup]
    public void Setup()
    {
        _key = SessionKey.Read(Samples.Key(Samples.WireKeys(1), 0));
        _lockFree = new LockFreeTable(new PairingTable(capacity: 1024, KeyHasher.CreateRandom()));
        _spinLock = new SpinLockTable(new SpinLockPairingTable(capacity: 1024, KeyHasher.CreateRandom()));
        _plainLock = new PlainLockTable(new LockedPairingTable(capacity: 1024));
        _first = new InMemoryParty(Samples.Client(1));
        _second = new InMemoryParty(Samples.Client(2));
    }

    /// <summary>The per-bucket spin-locked table (the reference, in Reference/) and the pooled completion of <see cref="RendezvousParty"/>.</summary>
    [Benchmark(Baseline = true)]
    public int SpinLockTableAndPooledCompletion() => Handoff(_spinLock);

    /// <summary>The lock-free <see cref="PairingTable"/> and the pooled completion.</summary>
    [Benchmark]
    public int LockFreeTableAndPooledCompletion() => Handoff(_lockFree);

    /// <summary>One Dictionary behind one plain lock, and the pooled completion.</summary>
    [Benchmark]
    public int PlainLockTableAndPooledCompletion() => Handoff(_plainLock);

    /// <summary>Dictionary behind a lock, and a new TaskCompletionSource for the waiter, which awaits it.</summary>
    [Benchmark]
    public int LockedDictionaryAndNewCompletion()
    {
        var first = NaiveWaiter.AwaitPartnerAsync(_naive.PairOrWait(_key, _first.Address));
        var second = _naive.PairOrWait(_key, _second.Address);
        return first.Result.Port + second.Result.Port;
    }

    private int Handoff<TTable>(TTable table) where TTable : struct, IHandoffTable
    {
        _first.Arrive(_key);
        if (table.PairOrWait(_first, out _) != PairingResult.Waiting)
        {
            throw new InvalidOperationException("the first client should wait");
        }
        _first.Wait();
        _second.Arrive(_key);
        table.PairOrWait(_second, out var found);
        var partner = found!.Address;
        found.Signal(PairOutcome.PairedWith(_second.Address));
        return _first.Outcome.Partner.Port + partner.Port;
    }
}
