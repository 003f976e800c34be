using System.Net;
using Punchhole.Load;
using Punchhole.Protocol.CommandLine;

namespace Punchhole.Tests.Load;

public class LoadCommandLineTests
{
    [Theory]
    [InlineData("192.0.2.1")]
    [InlineData("10.0.0.1")]
    [InlineData("0.0.0.0")]
    [InlineData("2001:db8::1")]
    [InlineData("localhost")]
    public void A_target_off_loopback_is_refused(string target)
    {
        var parsed = LoadCommandLine.Parse(["constant", "--target", target]);
        Assert.Equal(CommandLineAction.Error, parsed.Action);
        Assert.NotNull(parsed.Error);
        Assert.Throws<ArgumentException>(() => IPAddress.TryParse(target, out var address)
            ? LoadTarget.Create(address, 3477, 1)
            : throw new ArgumentException("not an address"));
    }

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("127.1.2.3")]
    [InlineData("::1")]
    public void A_loopback_target_is_accepted(string target)
    {
        var options = LoadCommandLine.Parse(["constant", "-a", target, "--port=4000", "-c8"]).Options!;
        Assert.Equal(IPAddress.Parse(target), options.Target);
        Assert.Equal(4000, options.Port);
        Assert.Equal(8, options.Concurrency);
    }

    [Theory]
    [InlineData("constant", "--frobnicate", "1")]
    [InlineData("constant", "--pairs", "0")]
    [InlineData("constant", "--concurrency", "many")]
    [InlineData("constant", "--duration", "7200")]
    [InlineData("sprint")]
    [InlineData("--pairs", "10")]
    [InlineData("constant", "hold")]
    [InlineData("hold", "--clients", "30000", "--processes", "2")]
    [InlineData("ramp", "--start-rate", "5000", "--max-rate", "1000")]
    public void Bad_or_unbounded_command_lines_are_refused_with_a_reason(params string[] args)
    {
        var parsed = LoadCommandLine.Parse(args);
        Assert.Equal(CommandLineAction.Error, parsed.Action);
        Assert.False(string.IsNullOrEmpty(parsed.Error));
    }

    [Theory]
    [InlineData("-h")]
    [InlineData("constant", "--help")]
    public void Help_is_asked_for_with_h_or_help(params string[] args) =>
        Assert.Equal(CommandLineAction.Help, LoadCommandLine.Parse(args).Action);

    [Fact]
    public void Every_run_has_a_count_and_a_hard_deadline()
    {
        var constant = LoadCommandLine.Parse(["constant", "-n", "1000", "-d", "5", "--timeout", "2"]).Options!;
        Assert.Equal(1000, constant.Pairs);
        Assert.InRange(constant.HardDeadline, TimeSpan.FromSeconds(7), TimeSpan.FromSeconds(15));
        var ramp = LoadCommandLine.Parse(["ramp", "--start-rate", "100", "--step-rate", "100", "--max-rate", "500"]).Options!;
        Assert.Equal(5, ramp.RampSteps);
    }

    [Fact]
    public void A_hold_of_more_clients_than_one_process_may_hold_is_split()
    {
        var options = LoadCommandLine.Parse(["hold", "-H", "20000"]).Options!;
        Assert.Equal(3, options.HoldProcesses);
        // A parent that splits the run holds no clients itself; a child holds its share.
        Assert.True(options.DescriptorsNeeded < 1000);
        Assert.Equal(0, options.WarmupPairings);
    }

    [Fact]
    public void Sources_are_taken_in_turn_from_127_0_0_1_up()
    {
        var target = LoadTarget.Create(IPAddress.Loopback, 3477, 3);
        var seen = Enumerable.Range(0, 6).Select(_ => target.NextSource()!.Address.ToString()).ToArray();
        Assert.Equal(["127.0.0.1", "127.0.0.2", "127.0.0.3"], seen.Distinct().Order());
        Assert.Equal(seen[0], seen[3]);
        Assert.Null(LoadTarget.Create(IPAddress.IPv6Loopback, 3477, 3).NextSource());
    }
}
