using Punchhole.Client;
using Punchhole.Client.Progress;

namespace Punchhole.Tests.Client;

/// <summary>The words of progress and of the final line, and the live line's terminal handling.</summary>
public class ProgressTextTests
{
    [Theory]
    [InlineData(0, "0 B")]
    [InlineData(1023, "1023 B")]
    [InlineData(1024, "1.0 KiB")]
    [InlineData(12.5 * 1024 * 1024, "12.5 MiB")]
    [InlineData(3.0 * 1024 * 1024 * 1024, "3.0 GiB")]
    public void Sizes_use_binary_units_with_one_decimal(double bytes, string expected) => Assert.Equal(expected, Figures.Size(bytes));

    [Theory]
    [InlineData(4, "4 s")]
    [InlineData(1.5, "1.5 s")]
    [InlineData(600, "10 min")]
    [InlineData(150, "2 min 30 s")]
    public void Spans_read_as_people_say_them(double seconds, string expected) => Assert.Equal(expected, Figures.Span(TimeSpan.FromSeconds(seconds)));

    [Theory]
    [InlineData(0, "0:00")]
    [InlineData(42, "0:42")]
    [InlineData(599.2, "10:00")]
    [InlineData(3723, "1:02:03")]
    public void Clocks_round_up_to_the_second(double seconds, string expected) => Assert.Equal(expected, Figures.Clock(TimeSpan.FromSeconds(seconds)));

    [Fact]
    public void A_live_line_with_a_known_size_shows_percentage_and_time_left()
    {
        var now = new TransferSnapshot(Sent: 12L << 20, Received: 0, Elapsed: TimeSpan.FromSeconds(1));
        string line = TransferText.Live(now, sends: true, receives: false, total: 32L << 20, rate: 12 << 20, sendRate: 10 << 20);
        Assert.Equal("sent 12.0 MiB of 32.0 MiB (37%), 12.0 MiB/s, 0:01 elapsed, 0:02 left", line);
    }

    [Fact]
    public void A_live_line_without_a_size_shows_both_directions_rate_and_time()
    {
        var now = new TransferSnapshot(Sent: 1500, Received: 3L << 30, Elapsed: TimeSpan.FromSeconds(65));
        Assert.Equal("sent 1.5 KiB, received 3.0 GiB, 50.0 MiB/s, 1:05 elapsed", TransferText.Live(now, true, true, null, 50 << 20, 0));
        Assert.True(TransferText.Live(now, true, true, null, 50 << 20, 0).Length < 70);
    }

    [Fact]
    public void The_final_figures_give_exact_bytes_duration_and_average_rate()
    {
        var end = new TransferSnapshot(Sent: 4L << 20, Received: 100, Elapsed: TimeSpan.FromSeconds(2));
        Assert.Equal("sent 4194304 bytes (4.0 MiB), received 100 bytes in 2.0 s (2.0 MiB/s)", TransferText.Final(end));
    }

    [Fact]
    public void The_status_line_is_drawn_only_when_live_and_messages_go_above_it()
    {
        var quiet = new StringWriter();
        var plain = new ClientLog(quiet, verbose: false, live: false);
        plain.Status("sent 1 B");
        plain.Info("hello");
        Assert.Equal("punchhole: hello\n", quiet.ToString());

        var screen = new StringWriter();
        var live = new ClientLog(screen, verbose: false, live: true);
        live.Status("sent 1 B");
        live.Info("hello");
        live.Status(null);
        Assert.Equal("\rpunchhole: sent 1 B\u001b[K\r\u001b[Kpunchhole: hello\n\rpunchhole: sent 1 B\u001b[K\r\u001b[K", screen.ToString());
    }
}
