using BenchmarkDotNet.Attributes;
using Punchhole.Benchmarks.Support;
using Punchhole.Protocol;

namespace Punchhole.Benchmarks.Benchmarks;

/// <summary>
/// Hashing a key and comparing it with the one already waiting: the work of every table lookup.
/// The probe is always a different instance with equal contents, so equality compares contents;
/// each method returns the hash mixed with the comparison, so the JIT can drop neither.
/// </summary>
[MemoryDiagnoser]
public class KeyLookupBenchmarks
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, int> _hexTable = new(StringComparer.Ordinal);
    private string _hexStored = "", _hexProbe = "";
    private SessionKey _stored, _probe;

    [GlobalSetup]
    public void Setup()
    {
        byte[] wire = Samples.WireKeys(1);
        _hexStored = Convert.ToHexString(wire);
        _hexProbe = Convert.ToHexString(wire);
        _hexTable.Add(_hexStored, 1);
        _stored = SessionKey.Read(wire);
        _probe = SessionKey.Read(wire);
    }

    /// <summary>A straightforward server: hex-string keys in a Dictionary behind a lock.</summary>
    [Benchmark(Baseline = true)]
    public int HexKeyInLockedDictionary()
    {
        lock (_gate)
        {
            return _hexTable.TryGetValue(_hexProbe, out int value) ? value : 0;
        }
    }

    /// <summary>The hex string's own (randomised, Marvin) hash and ordinal equality, with no table or lock.</summary>
    [Benchmark]
    public int HexKeyHashAndEquals() =>
        _hexProbe.GetHashCode() ^ (string.Equals(_hexProbe, _hexStored, StringComparison.Ordinal) ? 1 : 0);

    /// <summary>SipHash-2-4 of the four words under the process's secret key, then four compares.</summary>
    [Benchmark]
    public int SessionKeyHashAndEquals() => _probe.GetHashCode() ^ (_probe == _stored ? 1 : 0);
}
