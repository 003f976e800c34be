using System.Globalization;

namespace Punchhole.Load.Scenarios;

/// <summary>The progress line's text, the same for every scenario.</summary>
internal static class Status
{
    public static string Line(Measurement measurement, RunTally tally, long inFlight, string? extra = null)
    {
        double seconds = measurement.ElapsedSeconds;
        return string.Create(CultureInfo.InvariantCulture,
            $"{seconds,7:0.0} s  ok {tally.Ok}  {tally.Ok / Math.Max(seconds, 1e-9):0}/s  in flight {inFlight}  errors {tally.Errors}{extra}");
    }
}
