using System.Diagnostics;

namespace Punchhole.Server;

/// <summary>
/// The relay's global bandwidth ceiling: a token bucket of bytes, refilled at the configured rate
/// and holding at most a twentieth of a second's worth (at least 128 KiB, two pipe loads), so a
/// quiet spell does not turn into a burst. Spending may overdraw it by one splice; the relay then
/// waits until it is positive again. Used by the relay's one thread only.
/// </summary>
internal sealed class TokenBucket
{
    private readonly long _rate;
    private readonly long _burst;
    private long _tokens;
    private long _refilledAt;

    /// <param name="bytesPerSecond">The ceiling; greater than zero.</param>
    public TokenBucket(long bytesPerSecond)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bytesPerSecond, 1);
        _rate = bytesPerSecond;
        _burst = Math.Max(bytesPerSecond / 20, 128 * 1024);
        _tokens = _burst;
        _refilledAt = Stopwatch.GetTimestamp();
    }

    /// <summary>The bytes that may be moved now (zero or less: wait).</summary>
    public long Available()
    {
        long now = Stopwatch.GetTimestamp();
        long elapsed = now - _refilledAt;
        // Refill in whole bytes, keeping the remainder of the time for the next call.
        long earned = (long)((double)elapsed * _rate / Stopwatch.Frequency);
        if (earned > 0)
        {
            _tokens = Math.Min(_burst, _tokens + earned);
            _refilledAt = _tokens == _burst ? now : _refilledAt + (long)((double)earned * Stopwatch.Frequency / _rate);
        }
        return _tokens;
    }

    /// <summary>Takes <paramref name="bytes"/> that were moved.</summary>
    public void Spend(long bytes) => _tokens -= bytes;

    /// <summary>Milliseconds until the bucket is positive again (at least 1).</summary>
    public int MillisecondsUntilAvailable()
    {
        long deficit = 1 - Available();
        return deficit <= 0 ? 1 : (int)Math.Clamp(deficit * 1000 / _rate + 1, 1, 1000);
    }
}
