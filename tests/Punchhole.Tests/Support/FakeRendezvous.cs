using System.Net;
using System.Net.Sockets;
using System.Text;
using Punchhole.Protocol;

namespace Punchhole.Tests.Support;

/// <summary>
/// A scripted T-STUN server on loopback. It reads each client's key, records it, and answers with
/// whatever <c>reply</c> makes of the client's address: for client tests the address of a plain
/// listening peer (punching is not what they are about; the NAT lab tests the real thing), for
/// the load tool's tests deliberately wrong answers. An empty reply closes with no answer, after
/// <c>silentClose</c> (as the original server does when a wait ends, 30 s after the key); null
/// holds the connection open until disposal.
/// </summary>
internal sealed class FakeRendezvous : IDisposable
{
    private readonly Socket _listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    private readonly Func<int, IPEndPoint, string?> _reply;
    private readonly TimeSpan _silentClose;
    private readonly List<byte[]> _keys = [];
    private readonly List<IPEndPoint> _clients = [];
    private readonly List<Socket> _held = [];
    private readonly CancellationTokenSource _stop = new();

    /// <summary>Answers the n-th connection (0-based) with what <paramref name="reply"/> makes of its index and address.</summary>
    public FakeRendezvous(Func<int, IPEndPoint, string?> reply, TimeSpan? silentClose = null)
    {
        _reply = reply;
        _silentClose = silentClose ?? TimeSpan.Zero;
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(512);
        _ = AcceptAsync();
    }

    public FakeRendezvous(Func<IPEndPoint, string?> reply)
        : this((_, client) => reply(client))
    {
    }

    /// <summary>Answers every client with <paramref name="reply"/>.</summary>
    public FakeRendezvous(string reply)
        : this(_ => reply)
    {
    }

    public int Port => ((IPEndPoint)_listener.LocalEndPoint!).Port;

    /// <summary>The keys received, in order (shorter than 32 bytes if the client sent less).</summary>
    public byte[][] Keys
    {
        get
        {
            lock (_keys)
            {
                return [.. _keys];
            }
        }
    }

    /// <summary>The address of every client that connected, in order.</summary>
    public IPEndPoint[] Clients
    {
        get
        {
            lock (_keys)
            {
                return [.. _clients];
            }
        }
    }

    private async Task AcceptAsync()
    {
        try
        {
            for (int index = 0; ; index++)
            {
                var client = await _listener.AcceptAsync(_stop.Token);
                lock (_keys)
                {
                    _clients.Add((IPEndPoint)client.RemoteEndPoint!);
                }
                _ = ServeAsync(index, client);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
            // Disposed.
        }
    }

    private async Task ServeAsync(int index, Socket client)
    {
        try
        {
            var key = new byte[TStun.KeyLength];
            int read = 0, n;
            while (read < key.Length && (n = await client.ReceiveAsync(key.AsMemory(read), SocketFlags.None, _stop.Token)) > 0)
            {
                read += n;
            }
            lock (_keys)
            {
                _keys.Add(key[..read]);
            }
            string? reply = _reply(index, (IPEndPoint)client.RemoteEndPoint!);
            if (reply is { Length: 0 })
            {
                await Task.Delay(_silentClose, _stop.Token);
            }
            if (reply is null)
            {
                lock (_held)
                {
                    _held.Add(client);
                }
                return;
            }
            await client.SendAsync(Encoding.ASCII.GetBytes(reply), SocketFlags.None, _stop.Token);
            client.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
            // The client or the test has gone.
        }
        client.Dispose();
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Dispose();
        lock (_held)
        {
            _held.ForEach(s => s.Dispose());
        }
        _stop.Dispose();
    }
}

/// <summary>A plain TCP peer for client tests: a listener whose first connection is the "punched" one.</summary>
internal sealed class PlainPeer : IDisposable
{
    private readonly Socket _listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);

    public PlainPeer()
    {
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(4);
    }

    /// <summary>The T-STUN reply that sends a client here.</summary>
    public string Reply => $"127.0.0.1 {((IPEndPoint)_listener.LocalEndPoint!).Port}";

    public async Task<Socket> AcceptAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        return await _listener.AcceptAsync(timeout.Token);
    }

    public void Dispose() => _listener.Dispose();
}
