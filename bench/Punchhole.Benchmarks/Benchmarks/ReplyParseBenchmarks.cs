using BenchmarkDotNet.Attributes;
using Punchhole.Benchmarks.Naive;
using Punchhole.Benchmarks.Support;
using Punchhole.Protocol;

namespace Punchhole.Benchmarks.Benchmarks;

/// <summary>The client's side of the reply: <c>ADDR PORT</c> bytes back into an address to connect to.</summary>
[MemoryDiagnoser]
public class ReplyParseBenchmarks
{
    private byte[] _reply = [];

    /// <summary>v4: a dotted quad; v6: an RFC 5952 IPv6 address.</summary>
    [Params("v4", "v6")]
    public string Family { get; set; } = "v4";

    [GlobalSetup]
    public void Setup() => _reply = NaiveReply.FormatBytes(Samples.EndPoint(Family));

    /// <summary>Encoding.ASCII.GetString, string.Split, IPAddress.Parse and int.Parse.</summary>
    [Benchmark(Baseline = true)]
    public int SplitAndParse() => NaiveReply.Parse(_reply).Port;

    /// <summary>Tokens and address parsed in place from the received bytes.</summary>
    [Benchmark]
    public int PeerReplyTryParse() => PeerReply.TryParse(_reply, out var address) ? address.Port : -1;
}
