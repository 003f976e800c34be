using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using Punchhole.Protocol;
using Punchhole.Tests.Support;

namespace Punchhole.Tests.Client;

/// <summary>The punchhole executable itself: stdin/stdout, stderr progress, exit codes.</summary>
public class ClientProcessTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    private static ChildProcess StartClient(params string[] args) => ChildProcess.Start(ChildProcess.Built("punchhole"), args);

    [Fact(Timeout = 60_000)]
    public async Task Chat_carries_lines_both_ways_and_exits_0_when_both_sides_end()
    {
        using var run = new ClientWithPlainPeer(["chat key"]);
        var client = run.Client;
        using var connection = await run.AcceptAsync();

        await client.Input.WriteAsync("hello from stdin\n"u8.ToArray());
        await client.Input.FlushAsync();
        var buffer = new byte[64];
        using (var timeout = new CancellationTokenSource(Wait))
        {
            int n = await connection.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
            Assert.Equal("hello from stdin\n", Encoding.ASCII.GetString(buffer, 0, n));
        }

        await connection.SendAsync("hello from the peer\n"u8.ToArray(), SocketFlags.None);
        using (var timeout = new CancellationTokenSource(Wait))
        {
            int n = await client.Output.ReadAsync(buffer, timeout.Token);
            Assert.Equal("hello from the peer\n", Encoding.ASCII.GetString(buffer, 0, n));
        }

        client.Input.Close();
        Assert.Equal(0, (await StreamCheck.ReadToEndAsync(connection, Wait)).Count);
        connection.Shutdown(SocketShutdown.Send);
        Assert.Equal(0, await client.WaitForExitAsync(Wait));
        Assert.Contains(client.Lines, l => l.StartsWith("punchhole: connected to ", StringComparison.Ordinal));
        Assert.All(client.Lines, l => Assert.StartsWith("punchhole: ", l, StringComparison.Ordinal));
    }

    [Fact(Timeout = 60_000)]
    public async Task A_peer_reset_ends_the_client_at_once_though_stdin_stays_open()
    {
        using var run = new ClientWithPlainPeer(["k"]);
        var client = run.Client;
        using (var connection = await run.AcceptAsync())
        {
            // Once the client has the connection: a reset sooner would end its connect, and it would try again.
            await run.Client.WaitForLineAsync("connected to");
            connection.LingerState = new LingerOption(true, 0);
        }
        // stdin is never closed: only the reset can end the client.
        Assert.Equal(1, await client.WaitForExitAsync(TimeSpan.FromSeconds(10)));
        Assert.Contains(client.Lines, l => l.Contains("the peer reset the connection", StringComparison.Ordinal));
    }

    [Fact(Timeout = 60_000)]
    public async Task Send_only_finishes_even_if_the_peer_never_closes_its_side()
    {
        // The original client in its default mode sends its FIN only at its own stdin's EOF.
        using var run = new ClientWithPlainPeer(["-s", "k"]);
        var client = run.Client;
        using var connection = await run.AcceptAsync();
        await client.Input.WriteAsync("all of it\n"u8.ToArray());
        client.Input.Close();
        var (count, _) = await StreamCheck.ReadToEndAsync(connection, Wait);
        Assert.Equal(10, count);
        Assert.Equal(0, await client.WaitForExitAsync(TimeSpan.FromSeconds(20)));
        Assert.Contains(client.Lines, l => l.Contains("has not ended its side", StringComparison.Ordinal));
    }

    [Fact(Timeout = 60_000)]
    public async Task Without_a_key_one_is_generated_printed_and_sent_as_its_SHA_256_with_plain()
    {
        using var rendezvous = new FakeRendezvous(reply: "");
        using var client = StartClient([.. ClientProgram.Server(rendezvous.Port), "--plain", "--wait-timeout", "2"]);
        Assert.Equal(1, await client.WaitForExitAsync(Wait));

        string line = Assert.Single(client.Lines, l => l.Contains("Generated KEY: ", StringComparison.Ordinal));
        string phrase = line[(line.IndexOf("Generated KEY: ", StringComparison.Ordinal) + 15)..];
        Assert.Equal(22, phrase.Length);
        var expected = new byte[32];
        KeyPhrase.Derive(phrase).CopyTo(expected);
        // The server closes at once without a reply; the client asks again until --wait-timeout, always with the same key.
        Assert.NotEmpty(rendezvous.Keys);
        Assert.All(rendezvous.Keys, key => Assert.Equal(expected, key));
        Assert.Contains(client.Lines, l => l.Contains("without a reply", StringComparison.Ordinal));
    }

    [Fact(Timeout = 60_000)]
    public async Task Without_a_key_a_code_is_generated_printed_and_only_its_nameplate_hash_is_sent()
    {
        // The server holds the request until the client gives up: a wait that ends with no partner.
        using var rendezvous = new FakeRendezvous(_ => null);
        using var client = StartClient([.. ClientProgram.Server(rendezvous.Port), "--wait-timeout", "2"]);
        Assert.Equal(1, await client.WaitForExitAsync(Wait));

        string line = Assert.Single(client.Lines, l => l.Contains("Generated code: ", StringComparison.Ordinal));
        string code = line[(line.IndexOf("Generated code: ", StringComparison.Ordinal) + 16)..].Split(' ')[0];
        var parsed = Punchhole.Secure.Codes.PairingCode.Parse(code);
        Assert.Equal(code, parsed.ToString());
        var expected = new byte[32];
        parsed.RendezvousKey().CopyTo(expected);
        Assert.Equal("T-STUN/2"u8.ToArray(), expected[..8]);
        Assert.NotEmpty(rendezvous.Keys);
        Assert.All(rendezvous.Keys, key => Assert.Equal(expected, key));
        // The wait ends with no partner: the diagnosis mentions --plain, for a peer running the original.
        Assert.Contains(client.Lines, l => l.Contains("--plain", StringComparison.Ordinal));
    }

    [Fact(Timeout = 60_000)]
    public async Task A_peer_that_refuses_every_attempt_ends_in_a_diagnosis_not_a_hang()
    {
        // A loopback port nobody listens on: every SYN is answered with RST.
        int closedPort;
        using (var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            probe.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
            closedPort = ((System.Net.IPEndPoint)probe.LocalEndPoint!).Port;
        }
        using var rendezvous = new FakeRendezvous($"127.0.0.1 {closedPort}");
        var clock = Stopwatch.StartNew();
        // --plain: the punch's own timing, without Argon2id of the phrase before it.
        using var client = StartClient("-4T", "127.0.0.1", "-P", rendezvous.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--plain", "--punch-timeout", "2", "k");
        Assert.Equal(1, await client.WaitForExitAsync(Wait));
        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(8));
        Assert.Contains(client.Lines, l => l.Contains("refused", StringComparison.Ordinal) && l.Contains("not possible", StringComparison.Ordinal));
    }

    [Theory(Timeout = 60_000)]
    [InlineData("-4", "127.0.0.1")]
    [InlineData("-6", "::1")]
    public async Task Two_clients_punch_through_the_real_server_on_loopback_and_move_a_file(string family, string serverAddress)
    {
        using var server = new ServerHost(new Punchhole.Server.ServerOptions { Bind = System.Net.IPAddress.IPv6Any });
        string port = server.EndPoint().Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        byte[] data = StreamCheck.RandomBytes(8 * 1024 * 1024);
        using var receiver = StartClient(family, "-rT", serverAddress, "-P", port, "file key");
        using var sender = StartClient(family, "-sT", serverAddress, "-P", port, "file key");
        var received = new MemoryStream();
        var reading = receiver.Output.CopyToAsync(received);
        await sender.Input.WriteAsync(data);
        sender.Input.Close();

        Assert.Equal(0, await sender.WaitForExitAsync(Wait));
        Assert.Equal(0, await receiver.WaitForExitAsync(Wait));
        await reading.WaitAsync(Wait);
        Assert.Equal(StreamCheck.Digest(data), StreamCheck.Digest(received.ToArray()));
        Assert.Contains(sender.Lines, l => l.Contains($"the peer is {(family == "-6" ? "[::1]" : "127.0.0.1")}:", StringComparison.Ordinal));
    }

    [Theory(Timeout = 30_000)]
    [InlineData("-4")]
    [InlineData("-4xT", "host")]
    [InlineData("-4T", "host", "-P", "none")]
    public async Task Bad_usage_gets_one_line_and_exit_code_2(params string[] args)
    {
        using var client = StartClient(args);
        Assert.Equal(2, await client.WaitForExitAsync(Wait));
        var line = Assert.Single(client.Lines, l => l.Length > 0);
        Assert.StartsWith("punchhole: ", line, StringComparison.Ordinal);
    }
}
