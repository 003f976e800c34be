using System.Net;
using BenchmarkDotNet.Attributes;
using Punchhole.Benchmarks.InMemory;
using Punchhole.Benchmarks.Naive;
using Punchhole.Benchmarks.Support;
using Punchhole.Protocol;

namespace Punchhole.Benchmarks.Benchmarks;

/// <summary>
/// One whole pairing as the server handles it, without sockets: two clients' key bytes in, the
/// key parsed, the first parked in the table, the second pairing with it and completing its wait,
/// both replies formatted. Results are per pairing (two clients).
/// </summary>
[MemoryDiagnoser]
public class PipelineBenchmarks
{
    private readonly byte[] _firstReply = new byte[TStun.MaxReplyLength];
    private readonly byte[] _secondReply = new byte[TStun.MaxReplyLength];
    private readonly NaiveRendezvous _naive = new();
    private readonly InMemoryRendezvous _rendezvous = new(capacity: 1024);
    private byte[] _wireKey = [];
    private IPEndPoint _firstEndPoint = null!, _secondEndPoint = null!;
    private InMemoryParty _first = null!, _second = null!;

    [GlobalSetup]
    public void Setup()
    {
        _wireKey = Samples.WireKeys(1);
        _firstEndPoint = Samples.V4;
        _secondEndPoint = Samples.V6;
        _first = new InMemoryParty(PeerAddress.FromEndPoint(_firstEndPoint));
        _second = new InMemoryParty(PeerAddress.FromEndPoint(_secondEndPoint));
    }

    /// <summary>Hex-string keys, a locked Dictionary, a TaskCompletionSource per waiter, string.Format replies.</summary>
    [Benchmark(Baseline = true)]
    public int Naive()
    {
        var first = _naive.ArriveAsync(_wireKey, _firstEndPoint);
        var second = _naive.ArriveAsync(_wireKey, _secondEndPoint);
        return first.Result.Length + second.Result.Length;
    }

    /// <summary>SessionKey, PairingTable, the pooled completion and PeerReply.</summary>
    [Benchmark]
    public int Punchhole()
    {
        if (_rendezvous.Arrive(_first, _wireKey, _firstReply, _secondReply) != 0)
        {
            throw new InvalidOperationException("the first client should wait");
        }
        return _rendezvous.Arrive(_second, _wireKey, _secondReply, _firstReply) + _firstReply[0];
    }
}
