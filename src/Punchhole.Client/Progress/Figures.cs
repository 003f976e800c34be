using System.Globalization;

namespace Punchhole.Client.Progress;

/// <summary>Sizes, durations and rates as people read them: "12.3 MiB", "1 min 30 s", "0:42".</summary>
internal static class Figures
{
    private static readonly string[] Units = ["B", "KiB", "MiB", "GiB", "TiB"];

    /// <summary>"512 B", "12.3 MiB": binary units, one decimal.</summary>
    public static string Size(double bytes)
    {
        int unit = 0;
        while (bytes >= 1024 && unit < Units.Length - 1)
        {
            bytes /= 1024;
            unit++;
        }
        return unit == 0
            ? string.Create(CultureInfo.InvariantCulture, $"{bytes:0} B")
            : string.Create(CultureInfo.InvariantCulture, $"{bytes:0.0} {Units[unit]}");
    }

    /// <summary>"4194304 bytes (4.0 MiB)", or "512 bytes" below a KiB: exact for scripts, readable for people.</summary>
    public static string Bytes(long bytes) => bytes < 1024
        ? string.Create(CultureInfo.InvariantCulture, $"{bytes} bytes")
        : string.Create(CultureInfo.InvariantCulture, $"{bytes} bytes ({Size(bytes)})");

    /// <summary>"12.3 MiB/s".</summary>
    public static string Rate(double bytesPerSecond) => $"{Size(bytesPerSecond)}/s";

    /// <summary>"4 s", "1.5 s", "10 min", "2 min 30 s": for limits and waits in messages.</summary>
    public static string Span(TimeSpan span)
    {
        if (span < TimeSpan.FromMinutes(1))
        {
            return string.Create(CultureInfo.InvariantCulture, $"{span.TotalSeconds:0.#} s");
        }
        int minutes = (int)span.TotalMinutes;
        int seconds = span.Seconds;
        return seconds == 0
            ? string.Create(CultureInfo.InvariantCulture, $"{minutes} min")
            : string.Create(CultureInfo.InvariantCulture, $"{minutes} min {seconds} s");
    }

    /// <summary>"0:42", "12:05", "1:02:03": a clock for elapsed and remaining time.</summary>
    public static string Clock(TimeSpan span)
    {
        long total = (long)Math.Ceiling(Math.Max(0, span.TotalSeconds) - 0.0005);
        long hours = total / 3600, minutes = total / 60 % 60, seconds = total % 60;
        return hours > 0
            ? string.Create(CultureInfo.InvariantCulture, $"{hours}:{minutes:00}:{seconds:00}")
            : string.Create(CultureInfo.InvariantCulture, $"{minutes}:{seconds:00}");
    }

    /// <summary>"2.6 s": a duration with one decimal, for the final line.</summary>
    public static string Seconds(TimeSpan span) => string.Create(CultureInfo.InvariantCulture, $"{span.TotalSeconds:0.0} s");
}
