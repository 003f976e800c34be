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

    // Bytes read past a line by ReadLineAsync, handed out first by the next read.
    private byte[] _pending = [];

    private RendezvousClient(Socket socket) => _socket = socket;

    public IPEndPoint LocalEndPoint => (IPEndPoint)_socket.LocalEndPoint!;

    /// <summary>The connection itself, for tests that relay data over it.</summary>
    public Socket Socket => _socket;

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

    /// <summary>
    /// Reads one line, its LF included (up to <paramref name="maxLength"/> bytes); what came after the
    /// LF is kept for the next read. Returns what was read without an LF if the connection ended first.
    /// </summary>
    public async Task<string> ReadLineAsync(int maxLength = 1024, TimeSpan? wait = null)
    {
        using var timeout = new CancellationTokenSource(wait ?? DefaultWait);
        var buffer = new byte[maxLength];
        int total = _pending.Length;
        _pending.CopyTo(buffer, 0);
        _pending = [];
        try
        {
            while (true)
            {
                int end = Array.IndexOf(buffer, (byte)'\n', 0, total);
                if (end >= 0)
                {
                    _pending = buffer[(end + 1)..total];
                    return Encoding.ASCII.GetString(buffer, 0, end + 1);
                }
                if (total == maxLength)
                {
                    return Encoding.ASCII.GetString(buffer, 0, total);
                }
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
            throw new TimeoutException($"no line within {wait ?? DefaultWait}; got '{Encoding.ASCII.GetString(buffer, 0, total)}'");
        }
    }

    /// <summary>Reads until EOF; the reply text (empty when the server closed without one). Throws on timeout.</summary>
    public async Task<string> ReadToEndAsync(TimeSpan? wait = null) => (await ReadToCloseAsync(wait)).Text;

    /// <summary>Reads until the connection ends; the text, and whether it ended with a reset rather than a FIN. Throws on timeout.</summary>
    public async Task<(string Text, bool Reset)> ReadToCloseAsync(TimeSpan? wait = null)
    {
        using var timeout = new CancellationTokenSource(wait ?? DefaultWait);
        var buffer = new byte[1024];
        int total = _pending.Length;
        _pending.CopyTo(buffer, 0);
        _pending = [];
        try
        {
            while (total < buffer.Length)
            {
                int n = await _socket.ReceiveAsync(buffer.AsMemory(total), SocketFlags.None, timeout.Token);
                if (n == 0)
                {
                    break;
                }
                total += n;
            }
            return (Encoding.ASCII.GetString(buffer, 0, total), false);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"no EOF from the server within {wait ?? DefaultWait}; got '{Encoding.ASCII.GetString(buffer, 0, total)}'");
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
        {
            return (Encoding.ASCII.GetString(buffer, 0, total), true);
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
