using System.Net;
using System.Net.Sockets;
using System.Text;
using Punchhole.Protocol;

namespace Punchhole.Tests.Support;

/// <summary>
/// A scripted T-STUN server for client tests: it answers every client with a fixed reply (for
/// example the address of a plain listening peer) and records the keys it was sent.
/// Punching is not what tests using it are about; the NAT lab tests the real thing.
/// </summary>
internal sealed class FakeRendezvous : IDisposable
{
    private readonly Socket _listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    private readonly string? _reply;
    private readonly List<byte[]> _keys = [];
    private readonly Task _serving;

    /// <param name="reply">What to answer; null to close without a reply.</param>
    public FakeRendezvous(string? reply)
    {
        _reply = reply;
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(16);
        _serving = ServeAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndPoint!).Port;

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

    private async Task ServeAsync()
    {
        try
        {
            while (true)
            {
                using var client = await _listener.AcceptAsync();
                var key = new byte[TStun.KeyLength];
                int received = 0, n;
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                while (received < key.Length && (n = await client.ReceiveAsync(key.AsMemory(received), SocketFlags.None, timeout.Token)) > 0)
                {
                    received += n;
                }
                lock (_keys)
                {
                    _keys.Add(key[..received]);
                }
                if (_reply is not null)
                {
                    await client.SendAsync(Encoding.ASCII.GetBytes(_reply), SocketFlags.None);
                }
                client.Shutdown(SocketShutdown.Send);
            }
        }
        catch (Exception e) when (e is ObjectDisposedException or SocketException or OperationCanceledException)
        {
            // Disposed: the test is over.
        }
    }

    public void Dispose()
    {
        _listener.Dispose();
        _serving.Wait(TimeSpan.FromSeconds(5));
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
