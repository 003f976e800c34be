using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Punchhole.Secure.Handshake;
using Punchhole.Tests.Support;

namespace Punchhole.Tests.Client;

/// <summary>
/// The secure mode (the default) between client processes: through a real T-STUN server, and
/// through a man in the middle that a scripted rendezvous puts between the two clients.
/// </summary>
public class SecureClientTests
{
    private const string Code = "482913-aban-abel-abir";
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    /// <summary>What each side sends of the handshake before any record: hello and confirmation.</summary>
    private static readonly int HandshakeBytes = SecureHandshake.HelloLength + SecureHandshake.ConfirmLength;

    [Fact(Timeout = 90_000)]
    public async Task A_wrong_code_fails_both_sides_within_2_s_with_one_line_and_nothing_on_stdout()
    {
        using var server = new ServerHost();
        using var a = ClientProgram.Start([.. ClientProgram.Server(server.EndPoint().Port), Code]);
        using var b = ClientProgram.Start([.. ClientProgram.Server(server.EndPoint().Port), "482913-aban-abel-adan"]);
        await Task.WhenAny(a.WaitForLineAsync("connected to", Wait), b.WaitForLineAsync("connected to", Wait));
        var clock = Stopwatch.StartNew();
        Assert.Equal(1, await a.WaitForExitAsync(Wait));
        Assert.Equal(1, await b.WaitForExitAsync(Wait));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"the clients took {clock.Elapsed} after the connection");
        foreach (var client in new[] { a, b })
        {
            Assert.Equal(0, await client.Output.ReadAsync(new byte[1]));
            Assert.Single(client.Lines, l => l == "punchhole: authentication failed: the other side does not know the code, or someone is in between; nothing was sent");
            ClientProgram.AssertReadable(client);
        }
    }

    [Fact(Timeout = 90_000)]
    public async Task A_sender_killed_mid_transfer_makes_the_receiver_exit_1_though_TCP_ended_with_a_FIN()
    {
        using var server = new ServerHost();
        using var receiver = ClientProgram.Start([.. ClientProgram.Server(server.EndPoint().Port), "-r", Code]);
        using var sender = ClientProgram.Start([.. ClientProgram.Server(server.EndPoint().Port), "-s", Code]);
        // Stdin never ends: the sender stays mid-transfer until it is killed, and only the kill
        // (a broken pipe) stops the feeding, however much the sender had read ahead.
        var chunk = StreamCheck.RandomBytes(256 * 1024);
        var feeding = Task.Run(async () =>
        {
            while (true)
            {
                await sender.Input.WriteAsync(chunk);
            }
        });
        byte[] buffer = new byte[64 * 1024];
        long received = 0;
        using (var timeout = new CancellationTokenSource(Wait))
        {
            while (received < 1024 * 1024)
            {
                int n = await receiver.Output.ReadAsync(buffer, timeout.Token).AsTask().WaitAsync(Wait);
                Assert.True(n > 0, "the receiver ended before the kill: " + string.Join('\n', receiver.Lines));
                received += n;
            }
        }
        // The rest is read as a consumer would, so the receiver is never held up by its stdout.
        var draining = receiver.Output.CopyToAsync(Stream.Null);
        sender.Signal(9);
        Assert.True(1 == await receiver.WaitForExitAsync(TimeSpan.FromSeconds(10)), string.Join('\n', receiver.Lines));
        await draining.WaitAsync(Wait);
        await Assert.ThrowsAnyAsync<IOException>(() => feeding.WaitAsync(Wait));
        Assert.Contains(receiver.Lines, l => l.Contains("the transfer ended early", StringComparison.Ordinal));
        ClientProgram.AssertReadable(receiver);
    }

    [Fact(Timeout = 90_000)]
    public async Task A_transparent_relay_passes_and_never_sees_the_plaintext()
    {
        byte[] data = StreamCheck.RandomBytes(4 * 1024 * 1024);
        var run = await RunThroughAsync(new MitmRelay(MitmMode.Transparent), data);
        Assert.Equal((0, 0), (run.SenderExit, run.ReceiverExit));
        Assert.Equal(StreamCheck.Digest(data), StreamCheck.Digest(run.Received));
        byte[] seen = run.Relay.Captured();
        Assert.True(seen.Length > data.Length, $"the relay saw only {seen.Length} bytes");
        foreach (int at in new[] { 0, 100_000, 1_000_000, 3_000_000, data.Length - 32 })
        {
            Assert.Equal(-1, seen.AsSpan().IndexOf(data.AsSpan(at, 32)));
        }
    }

    [Fact(Timeout = 90_000)]
    public async Task One_flipped_byte_fails_the_receiver_and_nothing_after_it_reaches_stdout()
    {
        byte[] data = StreamCheck.RandomBytes(4 * 1024 * 1024);
        long at = HandshakeBytes + 300_000;
        var run = await RunThroughAsync(new MitmRelay(MitmMode.FlipByte, at), data);
        Assert.Equal(1, run.ReceiverExit);
        Assert.Contains(run.ReceiverLines, l => l.Contains("tampered with", StringComparison.Ordinal));
        // Only whole records before the altered one were written: a prefix, shorter than the flip.
        Assert.True(run.Received.Length < at - HandshakeBytes, $"{run.Received.Length} bytes reached stdout");
        Assert.Equal(data.AsSpan(0, run.Received.Length).ToArray(), run.Received);
    }

    [Fact(Timeout = 90_000)]
    public async Task A_FIN_injected_mid_stream_makes_the_receiver_exit_1()
    {
        byte[] data = StreamCheck.RandomBytes(4 * 1024 * 1024);
        var run = await RunThroughAsync(new MitmRelay(MitmMode.InjectFin, HandshakeBytes + 300_000), data);
        Assert.Equal(1, run.ReceiverExit);
        Assert.Contains(run.ReceiverLines, l => l.Contains("the transfer ended early", StringComparison.Ordinal));
        Assert.Equal(data.AsSpan(0, run.Received.Length).ToArray(), run.Received);
    }

    [Fact(Timeout = 90_000)]
    public async Task A_relay_that_runs_its_own_handshake_without_the_code_fails_authentication_on_both_sides()
    {
        byte[] data = StreamCheck.RandomBytes(1024);
        var run = await RunThroughAsync(new MitmRelay(MitmMode.OwnHandshake), data);
        Assert.Equal((1, 1), (run.SenderExit, run.ReceiverExit));
        Assert.Empty(run.Received);
        Assert.Contains(run.ReceiverLines, l => l.Contains("authentication failed", StringComparison.Ordinal));
        Assert.Contains(run.SenderLines, l => l.Contains("authentication failed", StringComparison.Ordinal));
    }

    [Fact(Timeout = 180_000)]
    public async Task Eight_parallel_downloads_through_L_and_R_arrive_intact_and_a_stalled_stream_stops_none()
    {
        using var folder = new TemporaryFolder();
        byte[] file = StreamCheck.RandomBytes(16 * 1024 * 1024);
        await File.WriteAllBytesAsync(Path.Combine(folder.Path, "big"), file);
        int httpPort = LocalPorts.Free();
        var http = new ProcessStartInfo("python3", ["-m", "http.server", "--bind", "127.0.0.1", httpPort.ToString(CultureInfo.InvariantCulture)])
        {
            WorkingDirectory = folder.Path,
        };
        using var service = ChildProcess.Start(http);
        using var server = new ServerHost();
        using var remote = ClientProgram.Start([.. ClientProgram.Server(server.EndPoint().Port), "-R", $"127.0.0.1:{httpPort}", Code]);
        using var local = ClientProgram.Start([.. ClientProgram.Server(server.EndPoint().Port), "-L", "0", Code]);
        string listening = await local.WaitForLineAsync("listening on 127.0.0.1:", Wait);
        int localPort = int.Parse(listening.Split("127.0.0.1:")[1].Split(';')[0], CultureInfo.InvariantCulture);
        await local.WaitForLineAsync("authenticated", Wait);
        await WaitForHttpAsync(httpPort);

        // A download nobody reads: its stream stalls once the window is full.
        using var stalled = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 4096 };
        await stalled.ConnectAsync(IPAddress.Loopback, localPort);
        await stalled.SendAsync("GET /big HTTP/1.0\r\n\r\n"u8.ToArray(), SocketFlags.None);

        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        string want = StreamCheck.Digest(file);
        var downloads = Enumerable.Range(0, 8).Select(_ => client.GetByteArrayAsync($"http://127.0.0.1:{localPort}/big"));
        foreach (byte[] got in await Task.WhenAll(downloads))
        {
            Assert.Equal(file.Length, got.Length);
            Assert.Equal(want, StreamCheck.Digest(got));
        }
        Assert.False(local.HasExited, "the -L side ended");
        Assert.False(remote.HasExited, "the -R side ended");
    }

    private static async Task WaitForHttpAsync(int port)
    {
        var deadline = DateTime.UtcNow + Wait;
        while (true)
        {
            using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                await probe.ConnectAsync(IPAddress.Loopback, port);
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }
        }
    }

    private sealed record RelayedRun(MitmRelay Relay, int? SenderExit, int? ReceiverExit, byte[] Received, string[] SenderLines, string[] ReceiverLines);

    /// <summary>A -s sender (left) and a -r receiver (right) that each "punch" the relay: the rendezvous gives each the relay's address.</summary>
    private static async Task<RelayedRun> RunThroughAsync(MitmRelay relay, byte[] data)
    {
        using (relay)
        {
            using var rendezvous = new FakeRendezvous((index, _) =>
                index == 0 ? $"127.0.0.1 {relay.RightEndPoint.Port}" : $"127.0.0.1 {relay.LeftEndPoint.Port}");
            using var receiver = ClientProgram.Start([.. ClientProgram.Server(rendezvous.Port), "-r", Code]);
            await receiver.WaitForLineAsync("asked the T-STUN server", Wait);
            using var sender = ClientProgram.Start([.. ClientProgram.Server(rendezvous.Port), "-s", Code]);
            var output = new MemoryStream();
            var reading = receiver.Output.CopyToAsync(output);
            try
            {
                await sender.Input.WriteAsync(data);
                sender.Input.Close();
            }
            catch (IOException)
            {
                // The sender failed first (the relay broke its connection): its exit says so.
            }
            int? receiverExit = await receiver.WaitForExitAsync(Wait);
            await reading.WaitAsync(Wait);
            int? senderExit = await sender.WaitForExitAsync(Wait);
            return new RelayedRun(relay, senderExit, receiverExit, output.ToArray(), sender.Lines, receiver.Lines);
        }
    }
}
