using Punchhole.Protocol.CommandLine;
using Punchhole.Server;

namespace Punchhole.Tests.Server;

/// <summary>tstun's relay options: off by default, each cap read into its option, and a cap without --relay refused in one line.</summary>
public class RelayCommandLineTests
{
    [Fact]
    public void The_relay_is_off_unless_asked_and_its_caps_are_read()
    {
        Assert.False(ServerCommandLine.Parse([]).Options!.Relay.Enabled);
        var parsed = ServerCommandLine.Parse(["--relay", "--relay-max", "10", "--relay-max-per-ip", "3", "--relay-max-mib", "5",
            "--relay-max-time", "60", "--relay-mbit", "8", "--relay-wait", "2.5"]);
        Assert.Equal(CommandLineAction.Run, parsed.Action);
        var relay = parsed.Options!.Relay;
        Assert.True(relay.Enabled);
        Assert.Equal(10, relay.MaxSessions);
        Assert.Equal(3, relay.MaxPerIp);
        Assert.Equal(5L << 20, relay.MaxBytes);
        Assert.Equal(TimeSpan.FromSeconds(60), relay.MaxDuration);
        Assert.Equal(1_000_000, relay.BytesPerSecond);
        Assert.Equal(TimeSpan.FromSeconds(2.5), relay.JoinTimeout);
        Assert.Equal(0, ServerCommandLine.Parse(["--relay", "--relay-mbit", "0"]).Options!.Relay.BytesPerSecond);
    }

    [Fact]
    public void A_relay_cap_without_the_relay_is_an_error_that_says_so()
    {
        var parsed = ServerCommandLine.Parse(["--relay-max", "10"]);
        Assert.Equal(CommandLineAction.Error, parsed.Action);
        Assert.Equal("--relay-max sets a cap of the relay, which is off: add --relay", parsed.Error);
    }

    [Theory]
    [InlineData("--relay-max", "0")]
    [InlineData("--relay-max-per-ip", "-1")]
    [InlineData("--relay-max-mib", "lots")]
    [InlineData("--relay-max-time", "0")]
    [InlineData("--relay-mbit", "-5")]
    [InlineData("--relay-wait", "0")]
    public void Out_of_range_relay_values_are_refused(string option, string value)
    {
        var parsed = ServerCommandLine.Parse(["--relay", option, value]);
        Assert.Equal(CommandLineAction.Error, parsed.Action);
        Assert.Contains(option, parsed.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("198.51.100.7:3478", "198.51.100.7", 3478)]
    [InlineData("[2001:db8::7]:3479", "2001:db8::7", 3479)]
    public void The_relay_address_is_read(string text, string address, int port)
    {
        var parsed = ServerCommandLine.Parse(["--relay", "--relay-address", text]);
        Assert.Equal(CommandLineAction.Run, parsed.Action);
        Assert.Equal(new System.Net.IPEndPoint(System.Net.IPAddress.Parse(address), port), parsed.Options!.Relay.PublicAddress);
        Assert.Null(ServerCommandLine.Parse(["--relay"]).Options!.Relay.PublicAddress);
    }

    [Theory]
    [InlineData("3478")]
    [InlineData("198.51.100.7:0")]
    [InlineData("0.0.0.0:3478")]
    [InlineData("[::]:3478")]
    [InlineData("2001:db8::7:3478")]
    [InlineData("relay.example.net:3478")]
    public void A_relay_address_clients_cannot_reach_is_refused(string text)
    {
        var parsed = ServerCommandLine.Parse(["--relay", "--relay-address", text]);
        Assert.Equal(CommandLineAction.Error, parsed.Action);
        Assert.StartsWith("--relay-address: ", parsed.Error, StringComparison.Ordinal);
        Assert.Equal("--relay-address says where the relay is, which is off: add --relay",
            ServerCommandLine.Parse(["--relay-address", "198.51.100.7:3478"]).Error);
    }
}
