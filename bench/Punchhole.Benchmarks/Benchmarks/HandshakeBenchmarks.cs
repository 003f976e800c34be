using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using Punchhole.Benchmarks.Support;
using Punchhole.Secure;
using Punchhole.Secure.Codes;

namespace Punchhole.Benchmarks.Benchmarks;

/// <summary>
/// The secure handshake's wall time, both sides in this process over a loopback TCP connection:
/// from the connected sockets to both sessions established (CPace, then key confirmation). The
/// phrase adds the Argon2id (64 MiB, 3 passes) each side runs on it before its rendezvous, once
/// here, as the two sides run theirs at the same time on their own hosts. CPU per side, with the
/// real binaries: bench/handshake-cost.py.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 2, iterationCount: 15)]
public class HandshakeBenchmarks
{
    private const string GeneratedCode = "482913-aban-abel-abir";
    private const string FreePhrase = "a phrase of our own for the handshake benchmark";

    [Benchmark(Baseline = true)]
    public Task Code() => HandshakeAsync(SecretCode.FromCode(PairingCode.Parse(GeneratedCode)));

    [Benchmark]
    public Task Phrase() => HandshakeAsync(SecretCode.FromPhrase(FreePhrase));

    private static async Task HandshakeAsync(SecretCode code)
    {
        var (a, b) = LoopbackPair.Connect();
        var first = SecureSession.EstablishAsync(a, code);
        var second = SecureSession.EstablishAsync(b, code);
        await using var one = await first;
        await using var other = await second;
    }
}
