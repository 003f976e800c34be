using System.Diagnostics;

namespace Punchhole.Client.Progress;

/// <summary>Bytes moved each way since the relay began; written by the relay, read by the progress line.</summary>
internal sealed class TransferMeter
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private long _sent;
    private long _received;

    public long Sent => Interlocked.Read(ref _sent);

    public long Received => Interlocked.Read(ref _received);

    public TimeSpan Elapsed => _clock.Elapsed;

    public void AddSent(int count) => Interlocked.Add(ref _sent, count);

    public void AddReceived(int count) => Interlocked.Add(ref _received, count);
}
