using System.Diagnostics;
using Punchhole.Load;

namespace Punchhole.Tests.Load;

public class RunTallyTests
{
    [Fact]
    public void A_tally_crosses_a_process_boundary_as_one_line_unchanged()
    {
        var tally = new RunTally();
        for (int i = 1; i <= 1000; i++)
        {
            tally.RecordOk(Stopwatch.Frequency * i / 1000 / 100); // 0.01 .. 10 ms
        }
        tally.RecordError(ErrorKind.Refused);
        tally.RecordError(ErrorKind.WrongAddress);
        tally.RecordError(ErrorKind.WrongAddress);

        string line = tally.Serialize();
        Assert.DoesNotContain('\n', line);
        var copy = RunTally.Parse(line);

        Assert.Equal(1000, copy.Ok);
        Assert.Equal(3, copy.Errors);
        Assert.Equal(2, copy.ErrorsOf(ErrorKind.WrongAddress));
        Assert.Equal(tally.LatencyMs(50), copy.LatencyMs(50));
        Assert.Equal(tally.LatencyMs(99), copy.LatencyMs(99));
        Assert.Equal("refused=1 wrong_address=2", copy.ErrorSummary());
    }

    [Fact]
    public void Tallies_add_up()
    {
        var a = new RunTally();
        var b = new RunTally();
        a.RecordOk(Stopwatch.Frequency / 1000);
        b.RecordOk(Stopwatch.Frequency / 10);
        b.RecordError(ErrorKind.Timeout);
        a.Add(b);
        Assert.Equal(2, a.Ok);
        Assert.Equal(1, a.ErrorsOf(ErrorKind.Timeout));
        Assert.InRange(a.MaxLatencyMs, 99, 101);
    }
}
