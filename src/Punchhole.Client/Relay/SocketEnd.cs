using System.Net.Sockets;
using Punchhole.Client.Platform;

namespace Punchhole.Client.Relay;

/// <summary>
/// A TCP connection as a relay end: the punched connection, or a forwarded local one. It uses the
/// socket directly, not a NetworkStream: Socket.Shutdown marks the socket disconnected, and a
/// NetworkStream made afterwards throws "not connected".
/// </summary>
internal sealed class SocketEnd : RelayEnd
{
    /// <summary>How long the other host may leave data unacknowledged, with no progress, before the relay gives up on it.</summary>
    private static readonly TimeSpan DeliveryStall = TimeSpan.FromSeconds(20);

    private readonly string _name;
    private int _closed;
    private volatile bool _sentEnd;

    /// <param name="socket">A connected socket, owned from now on.</param>
    /// <param name="name">Who is at the other end, for messages: "the peer", "the service at HOST:PORT".</param>
    public SocketEnd(Socket socket, string name)
    {
        Socket = socket;
        _name = name;
        // Until the relay ends cleanly, any close is a reset: when the process is killed or
        // interrupted the kernel closes the socket, and a FIN would pass for the end of the data.
        socket.LingerState = new LingerOption(true, 0);
    }

    public Socket Socket { get; }

    public override string SourceName => _name;

    public override string SinkName => _name;

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer)
    {
        int n = await Socket.ReceiveAsync(buffer, SocketFlags.None).ConfigureAwait(false);
        // A reset whose error a send took first is not the clean end it looks like. The state is
        // read before our FIN is looked at: a connection closed before we ended our side was reset.
        if (n == 0 && TcpConnectionState.IsClosed(Socket) && !_sentEnd)
        {
            throw new SocketException((int)SocketError.ConnectionReset);
        }
        return n;
    }

    /// <summary>The FIN is in and nothing is left before it (Available is read after the state: no byte can follow a FIN).</summary>
    public override bool EndIsNext
    {
        get
        {
            try
            {
                return TcpConnectionState.FinReceived(Socket) && Socket.Available == 0;
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                // Aborted meanwhile: the next read says how.
                return false;
            }
        }
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> data) =>
        await Socket.SendAsync(data, SocketFlags.None).ConfigureAwait(false);

    /// <summary>Corked: the last partial segment waits for the FIN that <see cref="EndWriting"/> sends, and leaves with it.</summary>
    public override async ValueTask WriteEndingAsync(ReadOnlyMemory<byte> data)
    {
        TcpConnectionState.Cork(Socket);
        await Socket.SendAsync(data, SocketFlags.None).ConfigureAwait(false);
    }

    public override void EndWriting()
    {
        _sentEnd = true;
        Socket.Shutdown(SocketShutdown.Send);
    }

    public override Task ConfirmDeliveredAsync() => TcpDelivery.WaitAcknowledgedAsync(Socket, DeliveryStall);

    public override void Abort()
    {
        if (Interlocked.Exchange(ref _closed, 1) == 0)
        {
            // The linger of 0 set at the start makes this close a reset.
            Socket.Dispose();
        }
    }

    public override void Dispose()
    {
        if (Interlocked.Exchange(ref _closed, 1) == 0)
        {
            try
            {
                Socket.LingerState = new LingerOption(false, 0);
            }
            catch (SocketException)
            {
                // Already reset by the other side: nothing left to close gracefully.
            }
            Socket.Dispose();
        }
    }
}
