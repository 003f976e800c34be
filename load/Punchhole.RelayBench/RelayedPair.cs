using System.Net;
using System.Net.Sockets;
using Punchhole.Protocol;
using Punchhole.Protocol.V2;

namespace Punchhole.RelayBench;

/// <summary>
/// One relayed session made the way a v2 secure client makes it: two v2 clients that both say
/// <c>relay-ok</c> pair on the server and get their tokens, then each opens its relay leg; both
/// legs read <c>JOINED</c>. Every line is parsed with the shared protocol library.
/// </summary>
internal sealed class RelayedPair : IDisposable
{
    private RelayedPair(Socket first, Socket second)
    {
        First = first;
        Second = second;
    }

    /// <summary>The first client's leg: what it sends reaches <see cref="Second"/>.</summary>
    public Socket First { get; }

    public Socket Second { get; }

    public static async Task<RelayedPair> OpenAsync(IPEndPoint server, IPAddress firstSource, IPAddress secondSource, CancellationToken cancel)
    {
        Span<byte> name = stackalloc byte[RendezvousKeys.NameLength];
        SecureRandom.Fill(name);
        var key = new byte[SessionKey.Length];
        RendezvousKeys.WriteVersion2(name, key);
        var tokens = await Task.WhenAll(
            RendezvousAsync(server, key, firstSource, cancel),
            RendezvousAsync(server, key, secondSource, cancel));
        var legs = await Task.WhenAll(
            LegAsync(server, tokens[0], firstSource, cancel),
            LegAsync(server, tokens[1], secondSource, cancel));
        return new RelayedPair(legs[0], legs[1]);
    }

    /// <summary>The v2 exchange of one client; its relay token.</summary>
    private static async Task<RelayToken> RendezvousAsync(IPEndPoint server, byte[] key, IPAddress source, CancellationToken cancel)
    {
        using var socket = await ConnectAsync(server, source, cancel);
        await socket.SendAsync(key, SocketFlags.None, cancel);
        var hello = await ReadLineAsync(socket, TStun2.MaxHelloLength, cancel);
        if (!Hello.TryParse(hello, out _, out var offered))
        {
            throw new BenchException("the server did not answer a v2 key with a hello: is it tstun?");
        }
        if ((offered & ServerFlags.Relay) == 0)
        {
            throw new BenchException("the server does not relay: start it with --relay");
        }
        var line = new byte[TStun2.MaxCandidateLineLength];
        int length = CandidateLine.Format(ClientFlags.RelayOk, [], line);
        await socket.SendAsync(line.AsMemory(0, length), SocketFlags.None, cancel);
        var peer = await ReadLineAsync(socket, TStun2.MaxPeerLineLength, cancel);
        var candidates = new CandidateList();
        if (!PeerLine.TryParse(peer, out _, out var token, ref candidates))
        {
            throw new BenchException(peer.Length == 0 ? "no PEER line (no partner in time?)" : "a malformed PEER line");
        }
        if (token.IsEmpty)
        {
            throw new BenchException("the PEER line offered no relay token (every reservation taken?)");
        }
        return token;
    }

    private static async Task<Socket> LegAsync(IPEndPoint server, RelayToken token, IPAddress source, CancellationToken cancel)
    {
        var socket = await ConnectAsync(server, source, cancel);
        try
        {
            var key = new byte[SessionKey.Length];
            token.WriteLegKey(key);
            await socket.SendAsync(key, SocketFlags.None, cancel);
            var status = await ReadLineAsync(socket, TStun2.MaxRelayStatusLength, cancel);
            if (!RelayStatus.TryParse(status, out bool joined, out var refusal) || !joined)
            {
                throw new BenchException(status.Length == 0
                    ? "the relay closed a leg without a status line"
                    : $"the relay refused a leg: {System.Text.Encoding.ASCII.GetString(RelayStatus.Word(refusal))}");
            }
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private static async Task<Socket> ConnectAsync(IPEndPoint server, IPAddress source, CancellationToken cancel)
    {
        var socket = new Socket(server.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            socket.Bind(new IPEndPoint(source, 0));
            await socket.ConnectAsync(server, cancel);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// One line, its LF included, read a byte at a time so that nothing after it is taken from the
    /// stream (a relayed byte may follow JOINED at once); empty at EOF before any byte.
    /// </summary>
    private static async Task<byte[]> ReadLineAsync(Socket socket, int max, CancellationToken cancel)
    {
        var line = new byte[max];
        int length = 0;
        while (length < max)
        {
            if (await socket.ReceiveAsync(line.AsMemory(length, 1), SocketFlags.None, cancel) == 0)
            {
                break;
            }
            if (line[length++] == TStun2.LineFeed)
            {
                break;
            }
        }
        return line[..length];
    }

    public void Dispose()
    {
        First.Dispose();
        Second.Dispose();
    }
}

/// <summary>A failure of the run that the user is told in one line.</summary>
internal sealed class BenchException(string message) : Exception(message);
