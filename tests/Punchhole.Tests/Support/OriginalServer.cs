using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Punchhole.Tests.Support;

/// <summary>
/// The original T-STUN server's wire behaviour, emulated with blocking sockets on threads: one
/// <c>recv(32)</c>, shutdown of the reading side, a wait for the partner with the same 32 bytes,
/// <c>ADDR PORT</c> in one send, close. Nothing it does looks at the key's bytes beyond comparing
/// them, and it never reads more, so a client that sends more than 32 bytes gets a reset on close.
/// </summary>
internal sealed class OriginalServer : IDisposable
{
    private readonly Socket _listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    private readonly Dictionary<string, (Socket Socket, IPEndPoint Address)> _waiting = [];
    private readonly Thread _thread;
    private volatile bool _stopped;
    private int _unread;

    public OriginalServer()
    {
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(64);
        _thread = new Thread(Accept) { IsBackground = true, Name = "original T-STUN server" };
        _thread.Start();
    }

    public IPEndPoint EndPoint => (IPEndPoint)_listener.LocalEndPoint!;

    /// <summary>
    /// Connections that had sent more than their 32-byte key by the time they were answered: on the
    /// real server those bytes stay unread, and closing over them resets the connection.
    /// </summary>
    public int SentMoreThanTheKey => Volatile.Read(ref _unread);

    private void Accept()
    {
        while (!_stopped)
        {
            Socket client;
            try
            {
                client = _listener.Accept();
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                return;
            }
            new Thread(() => Serve(client)) { IsBackground = true }.Start();
        }
    }

    private void Serve(Socket client)
    {
        try
        {
            client.ReceiveTimeout = 30_000;
            var key = new byte[32];
            // One recv(32), as the original does: a key split across segments is its problem.
            int n = client.Receive(key);
            client.Shutdown(SocketShutdown.Receive);
            string id = Convert.ToHexString(key, 0, n);
            var me = (IPEndPoint)client.RemoteEndPoint!;
            (Socket Socket, IPEndPoint Address) partner;
            lock (_waiting)
            {
                if (!_waiting.Remove(id, out partner))
                {
                    _waiting[id] = (client, me);
                    return;
                }
            }
            Answer(partner.Socket, me);
            Answer(client, partner.Address);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            client.Dispose();
        }
    }

    private void Answer(Socket socket, IPEndPoint other)
    {
        try
        {
            if (socket.Available > 0)
            {
                Interlocked.Increment(ref _unread);
            }
            socket.Send(Encoding.ASCII.GetBytes($"{other.Address} {other.Port}"));
        }
        catch (SocketException)
        {
        }
        socket.Dispose();
    }

    public void Dispose()
    {
        _stopped = true;
        _listener.Dispose();
        lock (_waiting)
        {
            foreach (var (socket, _) in _waiting.Values)
            {
                socket.Dispose();
            }
            _waiting.Clear();
        }
    }
}
