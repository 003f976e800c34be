using System.Net;
using System.Net.Sockets;
using System.Text;
using Punchhole.Protocol;

namespace Punchhole.Tests.Support;

/// <summary>A T-STUN client for tests: real sockets, every wait bounded.</summary>
internal sealed class RendezvousClient : IDisposable
{
    public static readonly TimeSpan DefaultWait = TimeSpan.FromSeconds(10);

    private readonly Socket _socket;

    private RendezvousClient(Socket socket) => _socket = socket;

    public IPEndPoint LocalEndPoint => (IPEndPoint)_socket.LocalEndPoint!;

    public static async Task<RendezvousClient> ConnectAsync(IPEndPoint server, IPAddress? bind = null)
    {
        var socket = new Socket(server.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        if (bind is not null)
        {
            try
            {
                socket.Bind(new IPEndPoint(bind, 0));
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }
        return await ConnectAsync(socket, server);
    }

    /// <summary>Connects <paramref name="socket"/> (say, one made in another network namespace); disposes it on failure.</summary>
    public static async Task<RendezvousClient> ConnectAsync(Socket socket, IPEndPoint server)
    {
        try
        {
            socket.NoDelay = true;
            using var timeout = new CancellationTokenSource(DefaultWait);
            await socket.ConnectAsync(server, timeout.Token);
            return new RendezvousClient(socket);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public static byte[] NewKey()
    {
        var key = new byte[TStun.KeyLength];
        Random.Shared.NextBytes(key);
        return key;
    }

    public async Task SendAsync(ReadOnlyMemory<byte> bytes)
    {
        using var timeout = new CancellationTokenSource(DefaultWait);
        await _socket.SendAsync(bytes, SocketFlags.None, timeout.Token);
    }

    /// <summary>Sends the key and half-closes, as the original client does.</summary>
    public async Task SendKeyAsync(byte[] key, bool halfClose = true)
    {
        await SendAsync(key);
        if (halfClose)
        {
            _socket.Shutdown(SocketShutdown.Send);
        }
    }

    /// <summary>Reads until EOF; the reply text (empty when the server closed without one). Throws on timeout.</summary>
    public async Task<string> ReadToEndAsync(TimeSpan? wait = null)
    {
        using var timeout = new CancellationTokenSource(wait ?? DefaultWait);
        var buffer = new byte[256];
        int total = 0;
        try
        {
            while (true)
            {
                int n = await _socket.ReceiveAsync(buffer.AsMemory(total), SocketFlags.None, timeout.Token);
                if (n == 0)
                {
                    return Encoding.ASCII.GetString(buffer, 0, total);
                }
                total += n;
            }
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"no EOF from the server within {wait ?? DefaultWait}; got '{Encoding.ASCII.GetString(buffer, 0, total)}'");
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
        {
            return Encoding.ASCII.GetString(buffer, 0, total);
        }
    }

    /// <summary>True if nothing (no data, no EOF) arrives within <paramref name="wait"/>.</summary>
    public async Task<bool> StaysSilentAsync(TimeSpan wait)
    {
        using var timeout = new CancellationTokenSource(wait);
        try
        {
            await _socket.ReceiveAsync(new byte[1], SocketFlags.Peek, timeout.Token);
            return false;
        }
        catch (OperationCanceledException)
        {
            return true;
        }
    }

    /// <summary>
    /// Makes this client's kernel delay its ACKs (TCP_QUICKACK off: the delayed-ACK timer, about
    /// 40 ms on Linux, acknowledges data nobody reads yet), as a client across a slow path would look.
    /// </summary>
    public void DelayAcknowledgements()
    {
        const int IPPROTO_TCP = 6, TCP_QUICKACK = 12;
        _socket.SetRawSocketOption(IPPROTO_TCP, TCP_QUICKACK, BitConverter.GetBytes(0));
    }

    /// <summary>Closes with RST (SO_LINGER 0), as a client that aborts does.</summary>
    public void Abort()
    {
        _socket.LingerState = new LingerOption(true, 0);
        _socket.Dispose();
    }

    public void Dispose() => _socket.Dispose();
}
