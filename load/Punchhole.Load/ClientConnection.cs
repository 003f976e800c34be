using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Punchhole.Protocol;

namespace Punchhole.Load;

/// <summary>
/// One client's connection to the server, as the original client makes it: connect, send the 32
/// key bytes, shut down the write side, read the reply until EOF. The source address is bound
/// before connecting (with IP_BIND_ADDRESS_NO_PORT, so the port is picked per destination and the
/// ports of one source address are not used up by the bind). Reused for one attempt after another.
/// </summary>
internal sealed class ClientConnection
{
    private const int IPPROTO_IP = 0;
    private const int IP_BIND_ADDRESS_NO_PORT = 24;
    private static readonly byte[] s_one = [1, 0, 0, 0];

    // One byte more than the longest reply: a reply that fills it is too long, whatever follows.
    private readonly byte[] _reply = new byte[TStun.MaxReplyLength + 1];
    private Socket? _socket;
    private int _replyLength;

    /// <summary>The address the server sees this client at, known once connected.</summary>
    public PeerAddress Local { get; private set; }

    /// <summary>What the server sent before EOF.</summary>
    public ReadOnlySpan<byte> Reply => _reply.AsSpan(0, _replyLength);

    /// <summary>True when the reply is longer than any the protocol allows.</summary>
    public bool ReplyTooLong => _replyLength > TStun.MaxReplyLength;

    /// <summary>Creates the socket and binds it to the next source address. Throws SocketException.</summary>
    public void Open(LoadTarget target)
    {
        Close();
        _replyLength = 0;
        Local = default;
        var socket = new Socket(target.Family, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            if (target.NextSource() is { } source)
            {
                socket.SetRawSocketOption(IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, s_one);
                socket.Bind(source);
            }
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        Volatile.Write(ref _socket, socket);
    }

    /// <summary>Connects, sends the key and half-closes, as the original client does.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public async ValueTask SendKeyAsync(EndPoint server, ReadOnlyMemory<byte> wireKey)
    {
        var socket = _socket!;
        await socket.ConnectAsync(server);
        Local = PeerAddress.FromEndPoint((IPEndPoint)socket.LocalEndPoint!);
        await socket.SendAsync(wireKey, SocketFlags.None);
        socket.Shutdown(SocketShutdown.Send);
    }

    /// <summary>Reads until the server's FIN (or until more bytes came than any reply has).</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public async ValueTask ReadReplyAsync()
    {
        var socket = _socket!;
        while (_replyLength < _reply.Length)
        {
            int n = await socket.ReceiveAsync(_reply.AsMemory(_replyLength), SocketFlags.None);
            if (n == 0)
            {
                return;
            }
            _replyLength += n;
        }
    }

    /// <summary>Closes the socket from any thread: its pending and later operations fail.</summary>
    public void Abort() => Volatile.Read(ref _socket)?.Dispose();

    /// <summary>Closes the socket and lets it go; by the owner only, once no operation is pending.</summary>
    public void Close() => Interlocked.Exchange(ref _socket, null)?.Dispose();

    /// <summary>
    /// Checks the reply against the address it must name: the partner's, as the server saw it.
    /// Null when it is right, else why not.
    /// </summary>
    public ErrorKind? CheckReply(in PeerAddress partner)
    {
        if (_replyLength == 0)
        {
            return ErrorKind.NoReply;
        }
        if (ReplyTooLong || !PeerReply.TryParse(Reply, out var told))
        {
            return ErrorKind.BadReply;
        }
        return told == partner ? null : ErrorKind.WrongAddress;
    }
}
