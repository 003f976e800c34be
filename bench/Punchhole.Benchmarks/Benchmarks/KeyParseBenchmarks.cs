using BenchmarkDotNet.Attributes;
using Punchhole.Benchmarks.Support;
using Punchhole.Protocol;

namespace Punchhole.Benchmarks.Benchmarks;

/// <summary>The 32 key bytes from the socket buffer turned into something a table can hold.</summary>
[MemoryDiagnoser]
public class KeyParseBenchmarks
{
    private byte[] _wire = [];

    [GlobalSetup]
    public void Setup() => _wire = Samples.WireKeys(1);

    /// <summary>A straightforward server keys its table by the hex string of the bytes.</summary>
    [Benchmark(Baseline = true)]
    public string HexString() => Convert.ToHexString(_wire);

    /// <summary>Four little-endian words read straight from the span.</summary>
    [Benchmark]
    public SessionKey SessionKeyFromSpan() => SessionKey.Read(_wire);
}
