namespace Punchhole.Client.Progress;

/// <summary>
/// Draws the live progress line a few times a second while a transfer runs, when the log is live
/// (stderr a terminal, no -q). The rates are smoothed over the last seconds so the line is steady.
/// </summary>
internal sealed class TransferProgress : IAsyncDisposable
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(250);

    /// <summary>Weight of the newest interval in the smoothed rates: about two seconds of memory.</summary>
    private const double Smoothing = 0.12;

    private readonly ClientLog _log;
    private readonly TransferMeter _meter;
    private readonly bool _sends;
    private readonly bool _receives;
    private readonly long? _total;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _drawing;

    private TransferProgress(ClientLog log, TransferMeter meter, bool sends, bool receives, long? total)
    {
        (_log, _meter, _sends, _receives, _total) = (log, meter, sends, receives, total);
        _drawing = DrawAsync();
    }

    /// <summary>Starts the line, or returns null when the log is not live.</summary>
    public static TransferProgress? Start(ClientLog log, TransferMeter meter, bool sends, bool receives, long? total) =>
        log.Live ? new TransferProgress(log, meter, sends, receives, total) : null;

    private async Task DrawAsync()
    {
        var last = TransferSnapshot.Of(_meter);
        double rate = 0, sendRate = 0;
        using var timer = new PeriodicTimer(Interval);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false))
            {
                var now = TransferSnapshot.Of(_meter);
                double seconds = (now.Elapsed - last.Elapsed).TotalSeconds;
                if (seconds <= 0)
                {
                    continue;
                }
                double all = (now.Sent + now.Received - last.Sent - last.Received) / seconds;
                double sent = (now.Sent - last.Sent) / seconds;
                bool first = last.Elapsed < Interval;
                rate = first ? all : rate + Smoothing * (all - rate);
                sendRate = first ? sent : sendRate + Smoothing * (sent - sendRate);
                last = now;
                _log.Status(TransferText.Live(now, _sends, _receives, _total, rate, sendRate));
            }
        }
        catch (OperationCanceledException)
        {
            // Stopped.
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _drawing.ConfigureAwait(false);
        _stop.Dispose();
        _log.Status(null);
    }
}
