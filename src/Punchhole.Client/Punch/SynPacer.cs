namespace Punchhole.Client.Punch;

/// <summary>
/// Spaces the punch's connection attempts: each new SYN leaves at least <see cref="MinimumGap"/>
/// after the previous one, plus a random part of up to half of it. A peer (or its NAT) that answers
/// every SYN with a reset would otherwise see thousands a second; at most 200 a second, the SYNs
/// of the two sides still cross within a few milliseconds of both being out, and the jitter keeps
/// two clients that started together out of step.
/// </summary>
internal sealed class SynPacer(ClientLog log)
{
    /// <summary>The least time between two SYNs: at most 200 a second.</summary>
    public static readonly TimeSpan MinimumGap = TimeSpan.FromMilliseconds(5);

    private TimeSpan _next = TimeSpan.MinValue;

    /// <summary>Waits until the next SYN may leave; cancelled with <paramref name="stop"/>.</summary>
    public async Task WaitTurnAsync(CancellationToken stop)
    {
        var now = log.Elapsed;
        if (now < _next)
        {
            await Task.Delay(_next - now, stop).ConfigureAwait(false);
            now = log.Elapsed;
        }
        _next = now + MinimumGap + TimeSpan.FromTicks(Random.Shared.NextInt64(MinimumGap.Ticks / 2));
    }
}
