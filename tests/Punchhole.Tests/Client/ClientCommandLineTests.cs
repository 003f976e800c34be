using System.Net;
using System.Net.Sockets;
using Punchhole.Client;
using Punchhole.Protocol.CommandLine;

namespace Punchhole.Tests.Client;

public class ClientCommandLineTests
{
    private static ClientOptions Parsed(params string[] args)
    {
        var result = ClientCommandLine.Parse(args);
        Assert.True(result.Action == CommandLineAction.Run, result.Error);
        return result.Options!;
    }

    [Fact]
    public void The_seeds_bidirectional_example_parses()
    {
        var options = Parsed("-4T", "tstun.example.org");
        Assert.Equal(AddressFamily.InterNetwork, options.Family);
        Assert.Equal("tstun.example.org", options.ServerHost);
        Assert.Equal(3477, options.ServerPort);
        Assert.Equal(RelayMode.Both, options.Mode);
        Assert.Null(options.Key);
    }

    [Fact]
    public void The_seeds_send_and_receive_examples_parse()
    {
        var send = Parsed("-4sT", "198.51.100.1", "secret phrase");
        Assert.Equal(RelayMode.SendOnly, send.Mode);
        Assert.Equal("198.51.100.1", send.ServerHost);
        Assert.Equal("secret phrase", send.Key);

        var receive = Parsed("-4rT", "198.51.100.1", "secret phrase");
        Assert.Equal(RelayMode.ReceiveOnly, receive.Mode);
        Assert.Equal("secret phrase", receive.Key);
    }

    [Fact]
    public void Separate_options_port_and_bind_parse()
    {
        var options = Parsed("-6", "-T", "2001:db8::1", "-P", "3478", "-H", "2001:db8::20", "KEY");
        Assert.Equal(AddressFamily.InterNetworkV6, options.Family);
        Assert.Equal("2001:db8::1", options.ServerHost);
        Assert.Equal(3478, options.ServerPort);
        Assert.Equal(IPAddress.Parse("2001:db8::20"), options.Bind);
        Assert.Equal("KEY", options.Key);
    }

    [Fact]
    public void Attached_values_and_long_options_parse()
    {
        var options = Parsed("-4", "-Thost", "-P3478", "--punch-timeout=2.5", "--", "-key-with-dash");
        Assert.Equal("host", options.ServerHost);
        Assert.Equal(3478, options.ServerPort);
        Assert.Equal(TimeSpan.FromSeconds(2.5), options.PunchTimeout);
        Assert.Equal("-key-with-dash", options.Key);
    }

    [Fact]
    public void Forwarding_options_parse()
    {
        Assert.Equal(new ListenForward(null, 2222), Parsed("-4T", "h", "-L", "2222", "k").Forward);
        Assert.Equal(new ListenForward("0.0.0.0", 2222), Parsed("-4T", "h", "-L", "0.0.0.0:2222", "k").Forward);
        Assert.Equal(new ListenForward("::1", 2222), Parsed("-6T", "h", "--listen", "[::1]:2222", "k").Forward);
        Assert.Equal(new ListenForward("localhost", 2222), Parsed("-4T", "h", "-L", "localhost:2222", "k").Forward);
        Assert.Equal("localhost:2222", Parsed("-4T", "h", "-L", "localhost:2222", "k").Forward!.ToString());
        Assert.Equal("127.0.0.1:2222", Parsed("-4T", "h", "-L", "2222", "k").Forward!.ToString());
        Assert.Equal(new ConnectForward("localhost", 22), Parsed("-4T", "h", "-R", "localhost:22", "k").Forward);
        Assert.Equal(new ConnectForward("::1", 22), Parsed("-6T", "h", "--connect=[::1]:22", "k").Forward);
    }

    [Fact]
    public void The_default_wait_is_long_enough_to_pass_a_key_on_and_quiet_is_an_option()
    {
        var options = Parsed("-4T", "h");
        Assert.True(options.WaitTimeout >= TimeSpan.FromMinutes(10));
        Assert.False(options.Quiet);
        Assert.True(Parsed("-4qT", "h").Quiet);
        Assert.True(Parsed("-4T", "h", "--quiet").Quiet);
        Assert.Equal(TimeSpan.FromSeconds(3600), Parsed("-4T", "h", "--wait-timeout", "3600").WaitTimeout);
    }

    [Fact]
    public void The_usage_ends_with_one_newline() =>
        Assert.Matches("[^\n]\n$", ClientCommandLine.Usage);

    [Theory]
    [InlineData("-h")]
    [InlineData("-4hT", "host")]
    [InlineData("--help")]
    public void Help_is_recognised(params string[] args) =>
        Assert.Equal(CommandLineAction.Help, ClientCommandLine.Parse(args).Action);

    [Theory]
    [InlineData("missing -T", "-4")]
    [InlineData("-T needs a value", "-4T")]
    [InlineData("-4 and -6", "-46T", "h")]
    [InlineData("-s and -r", "-4srT", "h")]
    [InlineData("two keys", "-4T", "h", "k1", "k2")]
    [InlineData("bad port", "-4T", "h", "-P", "0")]
    [InlineData("bad port", "-4T", "h", "-P", "65536")]
    [InlineData("bad bind", "-4T", "h", "-H", "nowhere")]
    [InlineData("unknown short", "-4xT", "h")]
    [InlineData("unknown long", "--frobnicate")]
    [InlineData("flag with value", "--help=yes")]
    [InlineData("forward and -s", "-4sT", "h", "-L", "2222")]
    [InlineData("two forwards", "-4T", "h", "-L", "2222", "-R", "localhost:22")]
    [InlineData("-R without host", "-4T", "h", "-R", "22")]
    [InlineData("-L with an empty address", "-4T", "h", "-L", ":22")]
    [InlineData("-L with a space in the address", "-4T", "h", "-L", "my host:22")]
    [InlineData("-R with a control character in the host", "-4T", "h", "-R", "a\u0007b:22")]
    [InlineData("bad timeout", "-4T", "h", "--punch-timeout", "0")]
    [InlineData("empty key", "-4T", "h", "")]
    public void Bad_usage_is_one_error_line(string why, params string[] args)
    {
        var result = ClientCommandLine.Parse(args);
        Assert.True(result.Action == CommandLineAction.Error, why);
        Assert.False(string.IsNullOrWhiteSpace(result.Error));
        Assert.DoesNotContain('\n', result.Error);
    }
}
