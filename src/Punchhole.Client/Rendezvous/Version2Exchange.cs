using System.Net;
using System.Net.Sockets;
using Punchhole.Protocol;
using Punchhole.Protocol.V2;

namespace Punchhole.Client.Rendezvous;

/// <summary>
/// The client's side of T-STUN/2 (docs/PROTOCOL.md), once its v2 key is sent: a T-STUN/2 server
/// answers at once with a hello (this side's observed address, whether it relays); the client
/// answers with its <c>CAND</c> line and reads the <c>PEER</c> line (the peer's address, this
/// side's relay token, the peer's candidates). Any other first byte is the original server's
/// <c>ADDR PORT</c>: that server reads only the 32-byte key and resets a connection with unread
/// bytes, so nothing more is sent and the reply is read as version 1 reads it.
/// </summary>
internal sealed class Version2Exchange(ServerReader reader, IPEndPoint local, ClientFlags flags, Action registered)
{
    /// <summary>A T-STUN/2 server's hello comes at once; a server silent this long is the original, waiting for a partner.</summary>
    private static readonly TimeSpan QuietServer = TimeSpan.FromMilliseconds(500);

    private bool _announced;
    private PeerAddress _seen;
    private int _sent;

    private AddressFamily Family => local.AddressFamily;

    /// <summary>The answer, or null when the server closed without one (its wait ended: ask again).</summary>
    public async Task<RendezvousAnswer?> RunAsync(CancellationToken deadline)
    {
        int helloLength;
        while (true)
        {
            var greeting = Hello.Identify(reader.Received);
            if (greeting == Greeting.NotHello)
            {
                // The original server, which answers only once paired: it may have done so within
                // QuietServer, and the user is still told whom this side asked before the peer.
                Announce();
                await reader.ReadToEndAsync(TStun.MaxReplyLength, deadline).ConfigureAwait(false);
                // The original client reads at most this much; so does a v1 reader here.
                reader.Truncate(TStun.MaxReplyLength);
                return Registration.ParseVersion1(reader, Family);
            }
            if (greeting == Greeting.Hello && (helloLength = TStun2.LineLength(reader.Received)) > 0)
            {
                break;
            }
            if (reader.Count >= TStun2.MaxHelloLength)
            {
                throw new ClientFailure($"the T-STUN server's hello is longer than {TStun2.MaxHelloLength} bytes: '{reader.ReceivedText}'");
            }
            var reading = reader.ReadSomeAsync(TStun2.MaxHelloLength, deadline);
            if (!_announced && await Task.WhenAny(reading, Task.Delay(QuietServer, CancellationToken.None)).ConfigureAwait(false) != reading)
            {
                Announce();
            }
            if (!await reading.ConfigureAwait(false))
            {
                return reader.Count == 0
                    ? null
                    : throw new ClientFailure($"the T-STUN server closed the connection inside its hello: '{reader.ReceivedText}'");
            }
        }

        var (observed, relayOffered) = ReadHello(helloLength);
        await SendCandidatesAsync(observed, deadline).ConfigureAwait(false);
        Announce();
        if (!await reader.ReadToEndAsync(TStun2.MaxPeerLineLength + 1, deadline).ConfigureAwait(false))
        {
            return null;
        }
        return ReadPeer(observed, relayOffered);
    }

    private void Announce()
    {
        if (!_announced)
        {
            _announced = true;
            registered();
        }
    }

    private (IPEndPoint? Observed, bool RelayOffered) ReadHello(int length)
    {
        if (length != reader.Count)
        {
            throw new ClientFailure($"the T-STUN server sent more than its hello before this side's candidates: '{reader.ReceivedText}'");
        }
        if (!Hello.TryParse(reader.Received, out var observed, out var serverFlags))
        {
            throw new ClientFailure($"the T-STUN server's hello is malformed: '{reader.ReceivedText}'");
        }
        reader.Consume(length);
        _seen = observed;
        return (observed.IsIPv4 == (Family == AddressFamily.InterNetwork) ? observed.ToEndPoint(Family) : null, (serverFlags & ServerFlags.Relay) != 0);
    }

    private async Task SendCandidatesAsync(IPEndPoint? observed, CancellationToken deadline)
    {
        var line = new byte[TStun2.MaxCandidateLineLength];
        var candidates = LocalCandidates.Of(local, observed);
        _sent = candidates.Length;
        int length = CandidateLine.Format(flags, candidates, line);
        try
        {
            // In one write: the server wants the line, and nothing after it, in what it reads.
            await reader.Socket.SendAsync(line.AsMemory(0, length), SocketFlags.None, deadline).ConfigureAwait(false);
        }
        catch (SocketException e)
        {
            throw new ClientFailure($"the T-STUN server {reader.Server} dropped the connection: {ErrorText.Of(e)}");
        }
    }

    private RendezvousAnswer ReadPeer(IPEndPoint? observed, bool relayOffered)
    {
        if (Collision.Matches(reader.Received))
        {
            throw new ClientFailure("the T-STUN server says a client with the same code is waiting already: pick another code");
        }
        var candidates = new CandidateList();
        if (!PeerLine.TryParse(reader.Received, out var peer, out var token, out var relayAt, ref candidates))
        {
            throw new ClientFailure($"the T-STUN server's answer is not a PEER line: '{reader.ReceivedText}'");
        }
        bool ipv4 = Family == AddressFamily.InterNetwork;
        var reachable = new List<IPEndPoint>(candidates.Count);
        foreach (var candidate in candidates.AsSpan())
        {
            if (candidate.IsIPv4 == ipv4)
            {
                reachable.Add(candidate.ToEndPoint(Family));
            }
        }
        return new RendezvousAnswer(Registration.InFamily(peer, Family), ServerKind.Version2)
        {
            Observed = observed,
            RelayOffered = relayOffered,
            Token = token,
            RelayServer = relayAt.Port == 0 ? null : relayAt.ToEndPoint(relayAt.IsIPv4 ? AddressFamily.InterNetwork : AddressFamily.InterNetworkV6),
            Candidates = reachable,
            Seen = (_seen, peer),
            CandidatesSent = _sent,
            CandidatesReceived = candidates.Count,
        };
    }
}
