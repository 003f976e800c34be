using BenchmarkDotNet.Attributes;
using Punchhole.Benchmarks.InMemory;
using Punchhole.Benchmarks.Naive;
using Punchhole.Benchmarks.Support;
using Punchhole.Protocol;
using Punchhole.Server;

namespace Punchhole.Benchmarks.Benchmarks;

/// <summary>
/// One handoff on one thread: the first client is added to the table and waits, the second takes
/// it out and completes its wait with its own address. Keys are parsed beforehand: this is the
/// table and the completion alone.
/// </summary>
[MemoryDiagnoser]
public class TableHandoffBenchmarks
{
    private readonly LockedWaiterTable _naive = new();
    private PairingTable _table = null!;
    private InMemoryParty _first = null!, _second = null!;
    private SessionKey _key;

    [GlobalSetup]
    public void Setup()
    {
        _key = SessionKey.Read(Samples.Key(Samples.WireKeys(1), 0));
        _table = new PairingTable(capacity: 1024, KeyHasher.CreateRandom());
        _first = new InMemoryParty(Samples.Client(1));
        _second = new InMemoryParty(Samples.Client(2));
    }

    /// <summary>Dictionary behind a lock, and a new TaskCompletionSource for the waiter, which awaits it.</summary>
    [Benchmark(Baseline = true)]
    public int LockedDictionaryAndNewCompletion()
    {
        var first = NaiveWaiter.AwaitPartnerAsync(_naive.PairOrWait(_key, _first.Address));
        var second = _naive.PairOrWait(_key, _second.Address);
        return first.Result.Port + second.Result.Port;
    }

    /// <summary>The per-bucket spin-locked table and the pooled completion of <see cref="RendezvousParty"/>.</summary>
    [Benchmark]
    public int PairingTableAndPooledCompletion()
    {
        _first.Arrive(_key);
        if (_table.PairOrWait(_first, out _) != PairingResult.Waiting)
        {
            throw new InvalidOperationException("the first client should wait");
        }
        _first.Wait();
        _second.Arrive(_key);
        _table.PairOrWait(_second, out var found);
        var partner = found!.Address;
        found.Signal(PairOutcome.PairedWith(_second.Address));
        return _first.Outcome.Partner.Port + partner.Port;
    }
}
