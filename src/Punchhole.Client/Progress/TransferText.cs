namespace Punchhole.Client.Progress;

/// <summary>The words of a transfer's progress: the live line and the figures of the final line.</summary>
internal static class TransferText
{
    /// <summary>
    /// The live line: "sent 12.0 MiB of 32.0 MiB (37%), 12.5 MiB/s, 0:01 elapsed, 0:02 left".
    /// Each direction that is used is shown; the percentage and time left only when the size of
    /// what is sent is known (stdin is a regular file). Kept short so it fits one terminal row.
    /// </summary>
    public static string Live(TransferSnapshot now, bool sends, bool receives, long? total, double rate, double sendRate)
    {
        var parts = new List<string>(5);
        if (sends)
        {
            parts.Add(total is { } size && size > 0
                ? $"sent {Figures.Size(now.Sent)} of {Figures.Size(size)} ({Math.Min(100, now.Sent * 100 / size)}%)"
                : $"sent {Figures.Size(now.Sent)}");
        }
        if (receives)
        {
            parts.Add($"received {Figures.Size(now.Received)}");
        }
        parts.Add(Figures.Rate(rate));
        parts.Add($"{Figures.Clock(now.Elapsed)} elapsed");
        if (sends && total is { } known && known > now.Sent && sendRate > 0)
        {
            parts.Add($"{Figures.Clock(TimeSpan.FromSeconds((known - now.Sent) / sendRate))} left");
        }
        return string.Join(", ", parts);
    }

    /// <summary>"sent 4194304 bytes (4.0 MiB), received 0 bytes in 2.6 s (1.5 MiB/s)": the final line's figures.</summary>
    public static string Final(TransferSnapshot end)
    {
        double seconds = Math.Max(end.Elapsed.TotalSeconds, 0.001);
        return $"sent {Figures.Bytes(end.Sent)}, received {Figures.Bytes(end.Received)} in {Figures.Seconds(end.Elapsed)} ({Figures.Rate((end.Sent + end.Received) / seconds)})";
    }
}

/// <summary>The meter's figures at one moment.</summary>
internal readonly record struct TransferSnapshot(long Sent, long Received, TimeSpan Elapsed)
{
    public static TransferSnapshot Of(TransferMeter meter) => new(meter.Sent, meter.Received, meter.Elapsed);
}
