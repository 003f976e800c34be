using System.Globalization;

namespace Punchhole.Protocol.CommandLine;

/// <summary>Option values read strictly, with a one-line error naming the option.</summary>
public static class OptionValue
{
    /// <summary>A whole number in [min, max].</summary>
    public static bool TryInteger(string name, string text, int min, int max, out int value, out string? error)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value) && value >= min && value <= max)
        {
            error = null;
            return true;
        }
        error = $"{name}: '{text}' is not a whole number from {min} to {max}";
        return false;
    }

    /// <summary>A duration in seconds (decimals allowed), at most a day; zero only when allowed.</summary>
    public static bool TrySeconds(string name, string text, bool allowZero, out TimeSpan value, out string? error)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (double.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double seconds)
            && seconds <= 86_400 && (allowZero ? seconds >= 0 : seconds > 0))
        {
            value = TimeSpan.FromSeconds(seconds);
            error = null;
            return true;
        }
        value = TimeSpan.Zero;
        error = $"{name}: '{text}' is not a number of seconds{(allowZero ? "" : " above 0")} (at most 86400)";
        return false;
    }

    /// <summary>A TCP port, 1..65535, or 0 too when <paramref name="allowZero"/>.</summary>
    public static bool TryPort(string name, string text, bool allowZero, out int port, out string? error) =>
        TryInteger(name, text, allowZero ? 0 : 1, 65535, out port, out error);
}
