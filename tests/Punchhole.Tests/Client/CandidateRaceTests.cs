using System.Net;
using System.Net.Sockets;
using Punchhole.Client;
using Punchhole.Client.Punch;
using Punchhole.Client.Rendezvous;
using Punchhole.Protocol;
using Punchhole.Secure;
using Punchhole.Secure.Codes;

namespace Punchhole.Tests.Client;

/// <summary>
/// The candidate race between two real clients' sockets on loopback addresses: each side's public
/// address is a port that resets (a NAT that does not hairpin), their local addresses are reachable.
/// </summary>
public class CandidateRaceTests
{
    private static readonly SecretCode Code = SecretCode.FromCode(PairingCode.Parse("482913-aban-abel-abir"));
    private static readonly ClientOptions Options = new() { PunchTimeout = TimeSpan.FromSeconds(5) };

    [Fact(Timeout = 30_000)]
    public async Task Two_sides_whose_public_addresses_fail_meet_on_a_local_address_agree_on_one_connection_and_authenticate_on_it()
    {
        using var sides = new Sides();
        var (a, b) = await RaceAsync(sides, sides.A.EndPoint, sides.B.EndPoint);

        Assert.True(a.Candidate && b.Candidate);
        Assert.Equal(sides.B.EndPoint, a.Remote);
        Assert.Equal(sides.A.EndPoint, b.Remote);
        // One connection, seen from both ends.
        Assert.Equal(a.Socket.LocalEndPoint, b.Socket.RemoteEndPoint);
        Assert.Equal(b.Socket.LocalEndPoint, a.Socket.RemoteEndPoint);
        var sessions = await Task.WhenAll(SecureSession.EstablishAsync(a.Socket, Code), SecureSession.EstablishAsync(b.Socket, Code));
        foreach (var session in sessions)
        {
            await session.DisposeAsync();
        }
    }

    [Theory(Timeout = 30_000)]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_local_address_that_reaches_a_stranger_is_never_chosen_and_the_stranger_gets_at_most_the_check(bool aControls)
    {
        using var sides = new Sides(aControls);
        using var stranger = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        stranger.Bind(new IPEndPoint(IPAddress.Parse("127.0.0.4"), 0));
        stranger.Listen();
        var heard = HearAsync(stranger);

        var (a, b) = await RaceAsync(sides, sides.A.EndPoint, sides.B.EndPoint, strangerForA: (IPEndPoint)stranger.LocalEndPoint!);

        Assert.Equal(sides.B.EndPoint, a.Remote);
        Assert.Equal(a.Socket.LocalEndPoint, b.Socket.RemoteEndPoint);
        // A connection the race had not even opened by the end is never accepted now.
        stranger.Dispose();
        byte[] received = await heard.WaitAsync(TimeSpan.FromSeconds(10));
        var check = new PathCheck(Code.RendezvousKey).Check.ToArray();
        Assert.True(received.Length == 0 || (aControls && received.SequenceEqual(check)), Convert.ToHexString(received));
        a.Socket.Dispose();
        b.Socket.Dispose();
    }

    [Fact]
    public void Only_two_T_STUN_2_sides_that_both_sent_and_received_candidates_and_were_seen_apart_race()
    {
        var self = new IPEndPoint(IPAddress.Parse("198.51.100.18"), 40001);
        var peer = new IPEndPoint(IPAddress.Parse("198.51.100.18"), 40002);
        var racing = Answer(self, peer, [new IPEndPoint(IPAddress.Parse("100.64.1.3"), 40002)]);
        Assert.True(CandidateRace.Applies(racing));
        Assert.False(CandidateRace.Applies(racing with { Server = ServerKind.Version1 }));
        Assert.False(CandidateRace.Applies(racing with { CandidatesSent = 0 }));
        Assert.False(CandidateRace.Applies(racing with { CandidatesReceived = 0 }));
        Assert.False(CandidateRace.Applies(racing with { Seen = (PeerAddress.FromEndPoint(self), PeerAddress.FromEndPoint(self)) }));
        Assert.False(CandidateRace.Applies(null));
    }

    [Fact]
    public void The_checks_of_two_sessions_differ_and_each_message_has_its_own_prefix()
    {
        var one = new PathCheck(Code.RendezvousKey);
        var other = new PathCheck(SecretCode.FromCode(PairingCode.Parse("482914-aban-abel-abir")).RendezvousKey);
        Assert.True(one.IsCheck(new PathCheck(Code.RendezvousKey).Check.Span));
        Assert.False(one.IsCheck(other.Check.Span));
        Assert.False(one.IsAnswer(other.Answer.Span));
        Assert.False(one.IsCheck(one.Answer.Span));
        Assert.Equal("PH=1"u8.ToArray(), PathCheck.Nominate.ToArray());
    }

    private static RendezvousAnswer Answer(IPEndPoint self, IPEndPoint peer, IPEndPoint[] candidates) =>
        new(peer, ServerKind.Version2)
        {
            Seen = (PeerAddress.FromEndPoint(self), PeerAddress.FromEndPoint(peer)),
            CandidatesSent = 1,
            CandidatesReceived = candidates.Length,
            Candidates = candidates,
        };

    private static async Task<(RacedPath A, RacedPath B)> RaceAsync(Sides sides, IPEndPoint localA, IPEndPoint localB, IPEndPoint? strangerForA = null)
    {
        var log = new StringWriter();
        var clientLog = new ClientLog(TextWriter.Synchronized(log), verbose: true);
        var answerA = Answer(sides.PublicA, sides.PublicB, strangerForA is null ? [localB] : [strangerForA, localB]);
        var answerB = Answer(sides.PublicB, sides.PublicA, [localA]);
        var a = CandidateRace.RunAsync(sides.A, answerA, Code.RendezvousKey, Options, clientLog);
        var b = CandidateRace.RunAsync(sides.B, answerB, Code.RendezvousKey, Options, clientLog);
        try
        {
            return (await a, await b);
        }
        catch (ClientFailure e)
        {
            Assert.Fail($"{e.Message}\n{log}");
            throw;
        }
    }

    /// <summary>Everything a stranger hears on the first connection it accepts, until the other side closes it.</summary>
    private static async Task<byte[]> HearAsync(Socket listener)
    {
        Socket connection;
        try
        {
            connection = await listener.AcceptAsync();
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            return [];
        }
        using var accepted = connection;
        var heard = new MemoryStream();
        var buffer = new byte[256];
        try
        {
            await connection.SendAsync("SSH-2.0-stranger\r\n"u8.ToArray(), SocketFlags.None);
            int n;
            while ((n = await connection.ReceiveAsync(buffer, SocketFlags.None)) > 0)
            {
                heard.Write(buffer, 0, n);
            }
        }
        catch (SocketException)
        {
            // Reset by the side that gave up on it.
        }
        return heard.ToArray();
    }

    /// <summary>
    /// Two clients' local ports (127.0.0.2, 127.0.0.3) and their "public" addresses: ports on
    /// 127.0.0.1 bound but not listening, so a SYN to them is reset, as by a NAT without hairpin.
    /// </summary>
    private sealed class Sides : IDisposable
    {
        private readonly Socket _closedA = Closed();
        private readonly Socket _closedB = Closed();

        public Sides(bool aControls = true)
        {
            // The side the server saw at the greater endpoint controls.
            if ((PortOf(_closedA) > PortOf(_closedB)) != aControls)
            {
                (_closedA, _closedB) = (_closedB, _closedA);
            }
        }

        public LocalPort A { get; } = LocalPort.Reserve(IPAddress.Parse("127.0.0.2"), AddressFamily.InterNetwork);

        public LocalPort B { get; } = LocalPort.Reserve(IPAddress.Parse("127.0.0.3"), AddressFamily.InterNetwork);

        public IPEndPoint PublicA => (IPEndPoint)_closedA.LocalEndPoint!;

        public IPEndPoint PublicB => (IPEndPoint)_closedB.LocalEndPoint!;

        public void Dispose()
        {
            A.Dispose();
            B.Dispose();
            _closedA.Dispose();
            _closedB.Dispose();
        }

        private static int PortOf(Socket socket) => ((IPEndPoint)socket.LocalEndPoint!).Port;

        private static Socket Closed()
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            return socket;
        }
    }
}
