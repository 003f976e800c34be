using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Punchhole.Client;
using Punchhole.Client.Relay;
using Punchhole.Protocol;
using Punchhole.Tests.Support;

namespace Punchhole.Tests.Client;

/// <summary>
/// The client's relay and forwarding, run in-process against a scripted T-STUN server and a plain
/// listening peer on loopback: punching is not what these tests are about.
/// </summary>
public partial class RelayTests
{
    private const int BigTransfer = 64 * 1024 * 1024;
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    private sealed class Session : IDisposable
    {
        private readonly StringWriter _log = new();

        public Session(ClientOptions options, Stream? input = null, Stream? output = null)
        {
            Peer = new PlainPeer();
            Rendezvous = new FakeRendezvous(Peer.Reply);
            Output = output ?? new MemoryStream();
            var session = new PunchholeSession(
                options with { Family = AddressFamily.InterNetwork, ServerHost = "127.0.0.1", ServerPort = Rendezvous.Port, PunchTimeout = TimeSpan.FromSeconds(5), Plain = true },
                new ClientLog(TextWriter.Synchronized(_log), verbose: true),
                new StandardIo(input ?? Stream.Null, Output));
            Run = Task.Run(session.RunAsync);
        }

        public PlainPeer Peer { get; }

        public FakeRendezvous Rendezvous { get; }

        public Stream Output { get; }

        public Task<int> Run { get; }

        public string Log => _log.ToString();

        public async Task FinishAsync()
        {
            var finished = await Task.WhenAny(Run, Task.Delay(Wait));
            Assert.True(finished == Run, $"the client did not finish; it logged:\n{Log}");
            Assert.True(await Run == 0, $"the client failed; it logged:\n{Log}");
        }

        public void Dispose()
        {
            Rendezvous.Dispose();
            Peer.Dispose();
        }
    }

    [Fact(Timeout = 120_000)]
    public async Task Send_only_delivers_64_MiB_exactly_and_the_wire_key_is_the_phrases_SHA_256()
    {
        byte[] data = StreamCheck.RandomBytes(BigTransfer);
        using var session = new Session(new ClientOptions { Key = "correct horse", Mode = RelayMode.SendOnly }, new MemoryStream(data));
        using var peer = await session.Peer.AcceptAsync();
        var (count, digest) = await StreamCheck.ReadToEndAsync(peer, Wait);
        peer.Shutdown(SocketShutdown.Send);
        await session.FinishAsync();

        Assert.Equal(BigTransfer, count);
        Assert.Equal(StreamCheck.Digest(data), digest);
        var expectedKey = new byte[32];
        KeyPhrase.Derive("correct horse").CopyTo(expectedKey);
        Assert.Equal(expectedKey, Assert.Single(session.Rendezvous.Keys));
    }

    [Fact(Timeout = 60_000)]
    public async Task Send_only_with_input_that_is_all_there_at_once_relays_it_and_finishes()
    {
        // A stream whose reads complete synchronously reaches EOF, and the half-close, before the
        // relay has set up the other direction: this is the race behind "net_notconnected".
        using var session = new Session(new ClientOptions { Key = "k", Mode = RelayMode.SendOnly }, new MemoryStream("all of it\n"u8.ToArray()));
        using var peer = await session.Peer.AcceptAsync();
        var (count, _) = await StreamCheck.ReadToEndAsync(peer, Wait);
        peer.Shutdown(SocketShutdown.Send);
        await session.FinishAsync();
        Assert.Equal(10, count);
    }

    [Fact(Timeout = 120_000)]
    public async Task Receive_only_writes_64_MiB_exactly_to_the_output()
    {
        byte[] data = StreamCheck.RandomBytes(BigTransfer);
        using var session = new Session(new ClientOptions { Key = "k", Mode = RelayMode.ReceiveOnly });
        using var peer = await session.Peer.AcceptAsync();
        await StreamCheck.SendAllAsync(peer, data, Wait);
        await session.FinishAsync();

        var output = ((MemoryStream)session.Output).ToArray();
        Assert.Equal(BigTransfer, output.Length);
        Assert.Equal(StreamCheck.Digest(data), StreamCheck.Digest(output));
        // -r sends nothing: the peer sees EOF at once.
        Assert.Equal(0, (await StreamCheck.ReadToEndAsync(peer, Wait)).Count);
    }

    [Fact(Timeout = 120_000)]
    public async Task Both_directions_at_once_carry_64_MiB_each_without_loss()
    {
        byte[] up = StreamCheck.RandomBytes(BigTransfer);
        byte[] down = StreamCheck.RandomBytes(BigTransfer);
        using var session = new Session(new ClientOptions { Key = "k" }, new MemoryStream(up));
        using var peer = await session.Peer.AcceptAsync();
        var reading = StreamCheck.ReadToEndAsync(peer, Wait);
        await StreamCheck.SendAllAsync(peer, down, Wait);
        var (count, digest) = await reading;
        await session.FinishAsync();

        Assert.Equal(StreamCheck.Digest(up), digest);
        Assert.Equal(BigTransfer, count);
        Assert.Equal(StreamCheck.Digest(down), StreamCheck.Digest(((MemoryStream)session.Output).ToArray()));
    }

    [Fact(Timeout = 60_000)]
    public async Task Connect_forward_relays_the_peer_to_a_local_service_and_back()
    {
        using var echo = EchoService.Start();
        using var session = new Session(new ClientOptions { Key = "k", Forward = new ConnectForward("127.0.0.1", echo.Port) });
        using var peer = await session.Peer.AcceptAsync();
        byte[] data = StreamCheck.RandomBytes(4 * 1024 * 1024);
        var reading = StreamCheck.ReadToEndAsync(peer, Wait);
        await StreamCheck.SendAllAsync(peer, data, Wait);
        Assert.Equal(StreamCheck.Digest(data), (await reading).Digest);
        await session.FinishAsync();
    }

    [Fact(Timeout = 60_000)]
    public async Task Listen_forward_relays_the_first_local_connection_to_the_peer()
    {
        using var session = new Session(new ClientOptions { Key = "k", Forward = new ListenForward(null, 0) });
        int port = await ListeningPortAsync(session);
        using var peer = await session.Peer.AcceptAsync();
        using var local = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await local.ConnectAsync(IPAddress.Loopback, port);

        byte[] toPeer = StreamCheck.RandomBytes(4 * 1024 * 1024);
        byte[] toLocal = StreamCheck.RandomBytes(1024 * 1024);
        var peerReads = StreamCheck.ReadToEndAsync(peer, Wait);
        var localReads = StreamCheck.ReadToEndAsync(local, Wait);
        await Task.WhenAll(StreamCheck.SendAllAsync(local, toPeer, Wait), StreamCheck.SendAllAsync(peer, toLocal, Wait));
        Assert.Equal(StreamCheck.Digest(toPeer), (await peerReads).Digest);
        Assert.Equal(StreamCheck.Digest(toLocal), (await localReads).Digest);
        await session.FinishAsync();
    }

    private static async Task<int> ListeningPortAsync(Session session)
    {
        for (int i = 0; i < 200; i++)
        {
            var match = ListeningLine().Match(session.Log);
            if (match.Success)
            {
                return int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            }
            await Task.Delay(25);
        }
        throw new TimeoutException($"the client never said where it listens:\n{session.Log}");
    }

    [GeneratedRegex(@"listening on 127\.0\.0\.1:(\d+)")]
    private static partial Regex ListeningLine();
}
