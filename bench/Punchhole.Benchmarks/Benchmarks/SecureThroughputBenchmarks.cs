using System.Net.Sockets;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using Punchhole.Benchmarks.Support;
using Punchhole.Secure;
using Punchhole.Secure.Codes;
using Punchhole.Secure.Mux;
using Punchhole.Secure.Records;

namespace Punchhole.Benchmarks.Benchmarks;

/// <summary>
/// 256 MiB one way over a loopback TCP connection: a plain socket copy (the baseline), the
/// encrypted record layer alone, and one multiplexed stream of a full secure session (records,
/// frames, flow control); and, without any socket, sealing then opening 256 MiB of records on one
/// thread (the crypto's own cost). Each operation moves the whole amount, so MB/s = 256 MiB / mean.
/// Sender and receiver share the machine's cores.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 1, iterationCount: 9)]
public class SecureThroughputBenchmarks
{
    private const long Bytes = 256L * 1024 * 1024;
    private const int Chunk = 64 * 1024;

    private readonly byte[] _send = new byte[Chunk];
    private readonly byte[] _receive = new byte[Chunk];
    private (Socket A, Socket B) _plain;
    private (Socket A, Socket B) _recordSockets;
    private Transport _recordA = null!, _recordB = null!;
    private RecordWriter _writer = null!;
    private RecordReader _reader = null!;
    private MuxSession _sessionA = null!, _sessionB = null!;
    private MuxStream _streamA = null!, _streamB = null!;
    private RecordSealer _sealer = null!;
    private RecordOpener _opener = null!;
    private readonly byte[] _record = new byte[RecordFormat.MaxRecordLength];

    [GlobalSetup]
    public void Setup()
    {
        new Random(1).NextBytes(_send);
        _plain = LoopbackPair.Connect();
        _recordSockets = LoopbackPair.Connect();
        _recordA = Transport.Over(_recordSockets.A);
        _recordB = Transport.Over(_recordSockets.B);
        byte[] key = new byte[32];
        new Random(2).NextBytes(key);
        _writer = new RecordWriter(_recordA.Output, key);
        _reader = new RecordReader(_recordB.Input, key);
        _sealer = new RecordSealer(key);
        _opener = new RecordOpener(key);

        var code = SecretCode.FromCode(PairingCode.Generate());
        var (a, b) = LoopbackPair.Connect();
        var establishA = SecureSession.EstablishAsync(a, code);
        var establishB = SecureSession.EstablishAsync(b, code);
        _sessionA = establishA.GetAwaiter().GetResult();
        _sessionB = establishB.GetAwaiter().GetResult();
        _streamA = _sessionA.OpenStream();
        _streamB = _sessionB.AcceptStreamAsync().AsTask().GetAwaiter().GetResult()!;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _plain.A.Dispose();
        _plain.B.Dispose();
        _sessionA.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _sessionB.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _recordA.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _recordB.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    [Benchmark(Baseline = true)]
    public long PlainSocket() => Transfer(
        async () => await _plain.A.SendAsync(_send, SocketFlags.None),
        () => _plain.B.Receive(_receive));

    [Benchmark]
    public long Records() => Transfer(
        () => _writer.WriteAsync(_send),
        () => _reader.ReadAsync().AsTask().GetAwaiter().GetResult().Plaintext.Length);

    [Benchmark]
    public long MuxStream() => Transfer(
        () => _streamA.WriteAsync(_send),
        () => _streamB.Read(_receive, 0, _receive.Length));

    [Benchmark]
    public long SealThenOpen()
    {
        long opened = 0;
        for (long sealedBytes = 0; sealedBytes < Bytes; sealedBytes += RecordFormat.MaxPlaintextLength)
        {
            int length = _sealer.SealInPlace(_record, RecordFormat.MaxPlaintextLength, final: false);
            var wire = new System.Buffers.ReadOnlySequence<byte>(_record, 0, length);
            if (!_opener.TryOpen(ref wire, out var plaintext, out _))
            {
                throw new InvalidOperationException("a record did not open");
            }
            opened += plaintext.Length;
        }
        return opened;
    }

    /// <summary>Sends 256 MiB in 64 KiB writes on a pool thread while this thread receives them.</summary>
    private static long Transfer(Func<ValueTask> sendChunk, Func<int> receive)
    {
        var send = Task.Run(async () =>
        {
            for (long sent = 0; sent < Bytes; sent += Chunk)
            {
                await sendChunk();
            }
        });
        long received = 0;
        while (received < Bytes)
        {
            received += receive();
        }
        send.GetAwaiter().GetResult();
        return received;
    }
}
