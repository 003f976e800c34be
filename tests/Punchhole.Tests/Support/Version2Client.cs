using System.Net;
using System.Net.Sockets;
using System.Text;
using Punchhole.Protocol;
using Punchhole.Protocol.V2;

namespace Punchhole.Tests.Support;

/// <summary>What a T-STUN/2 server's final line said: a <c>PEER</c> line, parsed.</summary>
internal sealed record PeerAnswer(PeerAddress Peer, RelayToken Token, PeerAddress[] Candidates, string Line)
{
    /// <summary>Where the token is to be presented when the line names a relay (<c>TOKEN@ADDR:PORT</c>); port 0 otherwise.</summary>
    public PeerAddress RelayAt { get; init; }
}

/// <summary>
/// A raw T-STUN/2 client for tests, speaking the wire through the protocol library: the v2 key,
/// the hello, the <c>CAND</c> line, the answer. Every wait bounded.
/// </summary>
internal sealed class Version2Client : IDisposable
{
    private Version2Client(RendezvousClient client, string hello)
    {
        Client = client;
        Hello = hello;
    }

    public RendezvousClient Client { get; }

    /// <summary>The hello line as received, its LF included.</summary>
    public string Hello { get; }

    /// <summary>A fresh v2 key: <c>T-STUN/2</c> and 24 random bytes.</summary>
    public static byte[] NewKey()
    {
        var name = new byte[RendezvousKeys.NameLength];
        Random.Shared.NextBytes(name);
        var key = new byte[SessionKey.Length];
        RendezvousKeys.WriteVersion2(name, key);
        return key;
    }

    /// <summary>Connects, sends <paramref name="key"/> (no FIN: more follows) and reads the hello.</summary>
    public static async Task<Version2Client> ConnectAsync(IPEndPoint server, byte[] key, IPAddress? bind = null)
    {
        var client = await RendezvousClient.ConnectAsync(server, bind);
        try
        {
            await client.SendKeyAsync(key, halfClose: false);
            return new Version2Client(client, await client.ReadLineAsync(TStun2.MaxHelloLength));
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    /// <summary>Sends a <c>CAND</c> line made by the protocol library, then half-closes.</summary>
    public Task OfferAsync(ClientFlags flags, params string[] candidates) =>
        SendLineAsync(FormatOffer(flags, candidates));

    /// <summary>Sends <paramref name="line"/> as it is (a test's own bytes), then half-closes unless told not to.</summary>
    public async Task SendLineAsync(string line, bool halfClose = true)
    {
        await Client.SendAsync(Encoding.ASCII.GetBytes(line));
        if (halfClose)
        {
            Client.Socket.Shutdown(SocketShutdown.Send);
        }
    }

    /// <summary>Reads to EOF and parses the <c>PEER</c> line; throws with what came if it is not one.</summary>
    public async Task<PeerAnswer> ReadPeerAsync(TimeSpan? wait = null)
    {
        string text = await Client.ReadToEndAsync(wait);
        return ParsePeer(text) ?? throw new InvalidOperationException($"not a PEER line: '{text}'");
    }

    public static PeerAnswer? ParsePeer(string text)
    {
        var candidates = new CandidateList();
        return PeerLine.TryParse(Encoding.ASCII.GetBytes(text), out var peer, out var token, out var relayAt, ref candidates)
            ? new PeerAnswer(peer, token, candidates.AsSpan().ToArray(), text) { RelayAt = relayAt }
            : null;
    }

    /// <summary>The <c>CAND</c> line for <paramref name="candidates"/> ("ADDR PORT" each).</summary>
    public static string FormatOffer(ClientFlags flags, params string[] candidates)
    {
        var addresses = candidates.Select(ParseEndpoint).ToArray();
        var line = new byte[TStun2.MaxCandidateLineLength];
        return Encoding.ASCII.GetString(line, 0, CandidateLine.Format(flags, addresses, line));
    }

    /// <summary>"ADDR PORT" as a <see cref="PeerAddress"/>.</summary>
    public static PeerAddress ParseEndpoint(string text) =>
        PeerReply.TryParse(Encoding.ASCII.GetBytes(text), out var address) ? address : throw new FormatException(text);

    /// <summary>The hello this client should get: its own address as the server sees it, and the server's flags.</summary>
    public string ExpectedHello(string flags) => $"T-STUN/2 HELLO {Pairing.Observed(Client)} {flags}\n";

    public void Dispose() => Client.Dispose();
}

/// <summary>A relay leg for tests: the leg key for a token, then the server's status line.</summary>
internal sealed class RelayLegClient : IDisposable
{
    private RelayLegClient(RendezvousClient client, string status)
    {
        Client = client;
        Status = status;
    }

    public RendezvousClient Client { get; }

    /// <summary>The status line (<c>JOINED</c> or <c>REFUSED ...</c>), or what came before the connection ended.</summary>
    public string Status { get; }

    public Socket Socket => Client.Socket;

    /// <summary>Connects and sends the leg key for <paramref name="token"/>; does not wait for the status.</summary>
    public static async Task<RendezvousClient> SendKeyAsync(IPEndPoint server, RelayToken token, IPAddress? bind = null)
    {
        var client = await RendezvousClient.ConnectAsync(server, bind);
        var key = new byte[SessionKey.Length];
        token.WriteLegKey(key);
        await client.SendKeyAsync(key, halfClose: false);
        return client;
    }

    /// <summary>Connects, sends the leg key, and reads the status line.</summary>
    public static async Task<RelayLegClient> ConnectAsync(IPEndPoint server, RelayToken token, IPAddress? bind = null, TimeSpan? wait = null) =>
        await ReadStatusAsync(await SendKeyAsync(server, token, bind), wait);

    /// <summary>
    /// Reads the status line of a leg whose key is sent, a byte at a time: the peer's relayed bytes
    /// may follow JOINED at once, and must be left for whoever reads the stream.
    /// </summary>
    public static async Task<RelayLegClient> ReadStatusAsync(RendezvousClient client, TimeSpan? wait = null)
    {
        try
        {
            using var timeout = new CancellationTokenSource(wait ?? RendezvousClient.DefaultWait);
            var line = new List<byte>();
            var one = new byte[1];
            try
            {
                while (line.Count < TStun2.MaxRelayStatusLength
                    && await client.Socket.ReceiveAsync(one, SocketFlags.None, timeout.Token) == 1)
                {
                    line.Add(one[0]);
                    if (one[0] == (byte)'\n')
                    {
                        break;
                    }
                }
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
            {
                // What came before the reset is the status, if anything.
            }
            return new RelayLegClient(client, Encoding.ASCII.GetString([.. line]));
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    public void Dispose() => Client.Dispose();
}
