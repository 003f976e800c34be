using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using Punchhole.Tests.Support;

namespace Punchhole.Tests.Client;

/// <summary>
/// Exit status 0 only when nothing was lost; any loss, reset or write failure gives exit 1, one
/// readable line naming the side that failed, and a reset (never a clean FIN) for the peer.
/// </summary>
public partial class ExitStatusTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [Fact(Timeout = 120_000)]
    public async Task A_receiver_whose_stdout_closes_early_exits_1_and_so_does_the_sender()
    {
        using var server = new ServerHost();
        string[] at = ClientProgram.Server(server.EndPoint().Port);
        // Plain mode: the original's ending, a reset both ways (the secure mode's is an authenticated abort).
        using var receiver = ClientProgram.Start([.. at, "--plain", "-r", "head -c"]);
        using var sender = ClientProgram.Start([.. at, "--plain", "-s", "head -c"]);
        // Far more than every buffer on the way holds: the sender is still sending when the reader goes.
        var feeding = FeedAsync(sender.Input, 1L << 30);

        // As `punchhole -r ... | head -c 1000000` does.
        var head = new byte[1_000_000];
        await receiver.Output.ReadExactlyAsync(head).AsTask().WaitAsync(Wait);
        receiver.Output.Close();

        Assert.Equal(1, await receiver.WaitForExitAsync(Wait));
        Assert.Equal(1, await sender.WaitForExitAsync(Wait));
        await feeding.WaitAsync(Wait);
        Assert.Contains(receiver.Lines, l => l.Contains("stdout", StringComparison.Ordinal));
        Assert.Contains(sender.Lines, l => l.Contains("the peer reset", StringComparison.Ordinal));
        ClientProgram.AssertReadable(receiver);
        ClientProgram.AssertReadable(sender);
    }

    [Fact(Timeout = 120_000)]
    public async Task Both_sides_sending_only_by_mistake_both_exit_1_and_say_why()
    {
        using var server = new ServerHost();
        string[] at = ClientProgram.Server(server.EndPoint().Port);
        using var one = ClientProgram.Start([.. at, "-s", "both send"]);
        using var two = ClientProgram.Start([.. at, "-s", "both send"]);
        var feeding = Task.WhenAll(FeedAsync(one.Input, 4 << 20), FeedAsync(two.Input, 4 << 20));

        Assert.Equal(1, await one.WaitForExitAsync(Wait));
        Assert.Equal(1, await two.WaitForExitAsync(Wait));
        await feeding.WaitAsync(Wait);
        Assert.Contains(one.Lines.Concat(two.Lines), l => l.Contains("also using -s", StringComparison.Ordinal));
        ClientProgram.AssertReadable(one);
        ClientProgram.AssertReadable(two);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_stdin_that_fails_under_send_only_resets_the_peer_instead_of_ending_the_stream()
    {
        // A directory as stdin: every read fails (EISDIR).
        using var run = new ClientWithPlainPeer(["-s", "k"], redirections: "< /");
        using var connection = await run.AcceptAsync();
        await AssertResetAsync(connection);
        Assert.Equal(1, await run.Client.WaitForExitAsync(Wait));
        Assert.Contains(run.Client.Lines, l => l.Contains("stdin", StringComparison.Ordinal));
        ClientProgram.AssertReadable(run.Client);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_forwarded_service_that_resets_makes_the_peer_see_a_reset_too()
    {
        using var service = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        service.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        service.Listen(1);
        using var run = new ClientWithPlainPeer(["-R", $"127.0.0.1:{((IPEndPoint)service.LocalEndPoint!).Port}", "k"]);
        using var connection = await run.AcceptAsync();
        using (var accepted = await service.AcceptAsync().WaitAsync(Wait))
        {
            await connection.SendAsync("request\n"u8.ToArray(), SocketFlags.None);
            // The service crashes: its kernel resets the connection.
            accepted.LingerState = new LingerOption(true, 0);
        }
        await AssertResetAsync(connection);
        Assert.Equal(1, await run.Client.WaitForExitAsync(Wait));
        Assert.Contains(run.Client.Lines, l => l.Contains("the service at 127.0.0.1:", StringComparison.Ordinal));
        ClientProgram.AssertReadable(run.Client);
    }

    [Fact(Timeout = 90_000)]
    public async Task Forwarding_to_a_dead_service_fails_on_both_sides_and_resets_the_local_client()
    {
        using var server = new ServerHost();
        string[] at = ClientProgram.Server(server.EndPoint().Port);
        // Plain mode carries one connection, so a dead service ends both sides (the secure mode resets that stream only).
        using var service = ClientProgram.Start([.. at, "--plain", "-R", $"127.0.0.1:{ClosedPort()}", "dead service"]);
        using var listen = ClientProgram.Start([.. at, "--plain", "-L", "0", "dead service"]);
        int port = ListeningPort(await listen.WaitForLineAsync("listening on 127.0.0.1:"));
        await listen.WaitForLineAsync("connected to");

        // What curl would get: never a clean, empty reply.
        string outcome = await LocalClientOutcomeAsync(port);
        Assert.Equal(1, await service.WaitForExitAsync(Wait));
        Assert.Equal(1, await listen.WaitForExitAsync(Wait));
        Assert.True(outcome != "empty reply", string.Join('\n', listen.Lines));
        Assert.Contains(service.Lines, l => l.Contains("refused", StringComparison.Ordinal));
        Assert.Contains(listen.Lines, l => l.Contains("the peer", StringComparison.Ordinal));
        ClientProgram.AssertReadable(service);
        ClientProgram.AssertReadable(listen);
    }

    [Fact(Timeout = 60_000)]
    public async Task In_a_chat_the_user_learns_the_peer_has_gone_and_later_lines_are_not_counted_as_sent()
    {
        using var run = new ClientWithPlainPeer(["chat key"]);
        var client = run.Client;
        using (var connection = await run.AcceptAsync())
        {
            await connection.SendAsync("bye\n"u8.ToArray(), SocketFlags.None);
            // The peer's process ends: its kernel closes the connection with a FIN.
        }
        await client.WaitForLineAsync("the peer has finished sending");
        var buffer = new byte[4];
        await client.Output.ReadExactlyAsync(buffer).AsTask().WaitAsync(Wait);
        Assert.Equal("bye\n", Encoding.ASCII.GetString(buffer));

        // Nobody reads this line any more: the peer's kernel answers it with a reset.
        await client.Input.WriteAsync("are you still there?\n"u8.ToArray());
        client.Input.Close();
        Assert.Equal(1, await client.WaitForExitAsync(Wait));
        Assert.Contains(client.Lines, l => l.Contains("the peer reset", StringComparison.Ordinal));
        ClientProgram.AssertReadable(client);
    }

    [Fact(Timeout = 60_000)]
    public async Task Receive_only_with_data_on_stdin_warns_that_it_was_not_sent_and_exits_1()
    {
        using var run = new ClientWithPlainPeer(["-r", "k"]);
        var client = run.Client;
        await client.Input.WriteAsync("this is never sent\n"u8.ToArray());
        await client.Input.FlushAsync();
        using var connection = await run.AcceptAsync();
        byte[] data = StreamCheck.RandomBytes(100_000);
        var received = new MemoryStream();
        var reading = client.Output.CopyToAsync(received);
        await StreamCheck.SendAllAsync(connection, data, Wait);

        Assert.Equal(1, await client.WaitForExitAsync(Wait));
        await reading.WaitAsync(Wait);
        Assert.Equal(StreamCheck.Digest(data), StreamCheck.Digest(received.ToArray()));
        Assert.Contains(client.Lines, l => l.Contains("-r never sends", StringComparison.Ordinal));
        ClientProgram.AssertReadable(client);
    }

    [Fact(Timeout = 60_000)]
    public async Task Receive_only_with_an_empty_stdin_exits_0()
    {
        using var run = new ClientWithPlainPeer(["-r", "k"], redirections: "< /dev/null");
        using var connection = await run.AcceptAsync();
        await StreamCheck.SendAllAsync(connection, StreamCheck.RandomBytes(1000), Wait);
        Assert.Equal(0, await run.Client.WaitForExitAsync(Wait));
    }

    /// <summary>Writes <paramref name="total"/> bytes to a client's stdin, then closes it; stops quietly when the client has gone.</summary>
    internal static async Task FeedAsync(Stream input, long total)
    {
        var chunk = StreamCheck.RandomBytes(64 * 1024);
        try
        {
            for (long sent = 0; sent < total; sent += chunk.Length)
            {
                await input.WriteAsync(chunk);
            }
            input.Close();
        }
        catch (IOException)
        {
            // The client exited and its stdin closed.
        }
    }

    /// <summary>Reads the connection to its end: it must end with a reset, not a FIN.</summary>
    internal static async Task AssertResetAsync(Socket connection)
    {
        try
        {
            var (count, _) = await StreamCheck.ReadToEndAsync(connection, Wait);
            Assert.Fail($"the connection ended with a clean FIN after {count} bytes, not a reset");
        }
        catch (SocketException e)
        {
            Assert.Equal(SocketError.ConnectionReset, e.SocketErrorCode);
        }
    }

    /// <summary>A loopback port nobody listens on.</summary>
    internal static int ClosedPort()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }

    internal static int ListeningPort(string line) =>
        int.Parse(ListeningLine().Match(line).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Connects to a -L port as a local client would, sends a request and reads the answer: "answer", "empty reply", "reset" or "refused".</summary>
    internal static async Task<string> LocalClientOutcomeAsync(int port)
    {
        using var user = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await user.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port));
            await user.SendAsync("GET / HTTP/1.0\r\n\r\n"u8.ToArray(), SocketFlags.None);
            var (count, _) = await StreamCheck.ReadToEndAsync(user, Wait);
            return count == 0 ? "empty reply" : "answer";
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionRefused)
        {
            return "refused";
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.Shutdown)
        {
            // The reset may come so soon that even the connect reports it.
            return "reset";
        }
    }

    [GeneratedRegex(@"listening on 127\.0\.0\.1:(\d+)")]
    private static partial Regex ListeningLine();
}
