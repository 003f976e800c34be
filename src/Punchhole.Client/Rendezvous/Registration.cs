using System.Net;
using System.Net.Sockets;
using System.Text;
using Punchhole.Client.Punch;
using Punchhole.Protocol;
using Punchhole.Protocol.CommandLine;
using Punchhole.Protocol.V2;

namespace Punchhole.Client.Rendezvous;

/// <summary>
/// One request to the T-STUN server, from the port the punch will use: connect, send the 32-byte
/// key, read the answer until the server's FIN. A v1 key reads <c>ADDR PORT</c>; a v2 key runs
/// <see cref="Version2Exchange"/>, which falls back to <c>ADDR PORT</c> on a server that does not
/// speak T-STUN/2.
/// <para>
/// Unlike the original client it does not half-close after the key. When a server ends a wait
/// without a reply (ours at --timeout, the original at 30 s), the client registers again from the
/// same port to the same server: the same 4-tuple. Had we sent the first FIN, our side of the old
/// connection would sit in TIME_WAIT for a minute, and where it cannot be reused (Linux without TCP
/// timestamps, other systems) the new connect would fail with "address not available". Instead
/// the server closes first and our reset ends both sides at once. The socket
/// closes with a reset whatever happens (SO_LINGER 0, set before connecting), so a client that is
/// interrupted or killed while waiting is seen by the server as gone, not as a waiter that only
/// half-closed.
/// </para>
/// </summary>
internal static class Registration
{
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The answer, or null when the server closed without one; <paramref name="connected"/> is called
    /// once the request is registered, as far as this side can tell. A connection that fails is a
    /// <see cref="SocketException"/> (the caller decides whether to retry); <paramref name="deadline"/>
    /// cancels the wait with an <see cref="OperationCanceledException"/>. <paramref name="flags"/> are
    /// what a v2 key asks of a T-STUN/2 server (<c>relay-ok</c> only for a secure session).
    /// </summary>
    public static async Task<RendezvousAnswer?> AskAsync(
        IPEndPoint server, IPEndPoint local, SessionKey key, Action connected, CancellationToken deadline, ClientFlags flags = ClientFlags.None)
    {
        using var socket = LocalPort.NewSocket(local);
        socket.LingerState = new LingerOption(true, 0);
        await ConnectAsync(socket, server, "", deadline).ConfigureAwait(false);
        var reader = new ServerReader(socket, server);
        key.CopyTo(reader.Buffer);
        bool version2 = RendezvousKeys.Classify(reader.Buffer.AsSpan(0, TStun.KeyLength)) == KeyForm.Version2;
        try
        {
            await socket.SendAsync(reader.Buffer.AsMemory(0, TStun.KeyLength), SocketFlags.None, deadline).ConfigureAwait(false);
        }
        catch (SocketException e)
        {
            throw new ClientFailure($"the T-STUN server {server} dropped the connection: {ErrorText.Of(e)}");
        }
        if (version2)
        {
            // Announced once registered: after the candidates, or when no hello came (the original server).
            // The address bound, not the one connected from: a wildcard offers every interface's.
            var punchPort = new IPEndPoint(local.Address, ((IPEndPoint)socket.LocalEndPoint!).Port);
            return await new Version2Exchange(reader, punchPort, flags, connected).RunAsync(deadline).ConfigureAwait(false);
        }
        connected();
        return await reader.ReadToEndAsync(TStun.MaxReplyLength, deadline).ConfigureAwait(false)
            ? ParseVersion1(reader, local.AddressFamily)
            : null;
    }

    /// <summary>
    /// Connects <paramref name="socket"/> to the server within <see cref="ConnectTimeout"/>; a server
    /// that does not answer is a <see cref="ClientFailure"/> (<paramref name="purpose"/> ends its first part).
    /// </summary>
    internal static async Task ConnectAsync(Socket socket, IPEndPoint server, string purpose, CancellationToken deadline)
    {
        using var connectTimeout = CancellationTokenSource.CreateLinkedTokenSource(deadline);
        connectTimeout.CancelAfter(ConnectTimeout);
        try
        {
            await socket.ConnectAsync(server, connectTimeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!deadline.IsCancellationRequested)
        {
            throw new ClientFailure($"cannot reach the T-STUN server {server}{purpose}: no answer within {ConnectTimeout.TotalSeconds:0} s");
        }
    }

    /// <summary>The <c>ADDR PORT</c> reply in the reader, as the original client reads it.</summary>
    internal static RendezvousAnswer ParseVersion1(ServerReader reader, AddressFamily family)
    {
        if (!PeerReply.TryParse(reader.Received, out var peer))
        {
            throw new ClientFailure($"the T-STUN server's reply is not 'ADDR PORT': '{reader.ReceivedText}'");
        }
        return RendezvousAnswer.Version1(InFamily(peer, family));
    }

    /// <summary>The peer's address for a socket of <paramref name="family"/>; a failure when it is of the other family.</summary>
    internal static IPEndPoint InFamily(in PeerAddress peer, AddressFamily family)
    {
        if (peer.IsIPv4 != (family == AddressFamily.InterNetwork))
        {
            throw new ClientFailure($"the peer's address {peer} is not {ClientOptions.Describe(family)}; both sides must use the same of -4 and -6");
        }
        return peer.ToEndPoint(family);
    }
}

/// <summary>What the server sent on one rendezvous connection, read into one buffer with every wait bounded by the caller's deadline.</summary>
internal sealed class ServerReader(Socket socket, IPEndPoint server)
{
    /// <summary>Room for the key, and then for the longest line either protocol sends, and one byte more to tell an overlong one.</summary>
    public byte[] Buffer { get; } = new byte[Math.Max(TStun2.MaxLineLength, TStun.MaxReplyLength) + 1];

    public int Count { get; private set; }

    public ReadOnlySpan<byte> Received => Buffer.AsSpan(0, Count);

    /// <summary>What came, printable, for a message.</summary>
    public string ReceivedText => OptionValue.Printable(Encoding.ASCII.GetString(Buffer, 0, Count));

    public Socket Socket => socket;

    public IPEndPoint Server => server;

    /// <summary>Keeps only the first <paramref name="count"/> bytes read.</summary>
    public void Truncate(int count) => Count = Math.Min(Count, count);

    /// <summary>Forgets what was read, keeping what came after the first <paramref name="consumed"/> bytes.</summary>
    public void Consume(int consumed)
    {
        Buffer.AsSpan(consumed, Count - consumed).CopyTo(Buffer);
        Count -= consumed;
    }

    /// <summary>
    /// Reads more, at most up to <paramref name="limit"/> bytes in all; false at the server's FIN.
    /// A reset before anything came is a FIN too: a server that resets rather than closes at the end
    /// of a wait has no reply either.
    /// </summary>
    public async Task<bool> ReadSomeAsync(int limit, CancellationToken deadline)
    {
        int n;
        try
        {
            n = await socket.ReceiveAsync(Buffer.AsMemory(Count, limit - Count), SocketFlags.None, deadline).ConfigureAwait(false);
        }
        catch (SocketException e) when (Count == 0 && e.SocketErrorCode == SocketError.ConnectionReset)
        {
            return false;
        }
        catch (SocketException e)
        {
            throw new ClientFailure($"the T-STUN server {server} dropped the connection: {ErrorText.Of(e)}");
        }
        Count += n;
        return n > 0;
    }

    /// <summary>Reads to the server's FIN or <paramref name="limit"/> bytes, whichever comes first; false when nothing came.</summary>
    public async Task<bool> ReadToEndAsync(int limit, CancellationToken deadline)
    {
        while (Count < limit && await ReadSomeAsync(limit, deadline).ConfigureAwait(false))
        {
        }
        return Count > 0;
    }
}
