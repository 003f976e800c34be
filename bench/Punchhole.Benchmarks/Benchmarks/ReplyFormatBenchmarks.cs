using System.Net;
using BenchmarkDotNet.Attributes;
using Punchhole.Benchmarks.Naive;
using Punchhole.Benchmarks.Support;
using Punchhole.Protocol;

namespace Punchhole.Benchmarks.Benchmarks;

/// <summary>The partner's observed address written as the <c>ADDR PORT</c> reply, ready to send.</summary>
[MemoryDiagnoser]
public class ReplyFormatBenchmarks
{
    private readonly byte[] _buffer = new byte[TStun.MaxReplyLength];
    private IPEndPoint _endPoint = null!;
    private PeerAddress _address;

    /// <summary>v4: an IPv4 client seen through a dual-stack socket (IPv4-mapped); v6: an IPv6 client.</summary>
    [Params("v4", "v6")]
    public string Family { get; set; } = "v4";

    [GlobalSetup]
    public void Setup()
    {
        _endPoint = Samples.EndPoint(Family);
        _address = PeerAddress.FromEndPoint(_endPoint);
    }

    /// <summary>string.Format over IPAddress.ToString, then Encoding.ASCII into a new array.</summary>
    [Benchmark(Baseline = true)]
    public int StringFormat() => NaiveReply.FormatBytes(_endPoint).Length;

    /// <summary>Straight into the send buffer.</summary>
    [Benchmark]
    public int PeerReplyFormat() => PeerReply.Format(_address, _buffer);
}
