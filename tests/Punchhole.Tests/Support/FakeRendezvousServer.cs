using System.Net;
using System.Net.Sockets;
using System.Text;
using Punchhole.Protocol;

namespace Punchhole.Tests.Support;

/// <summary>
/// A deliberately wrong T-STUN server on loopback, for proving that the load tool catches wrong
/// answers: it reads each client's key and answers with whatever <c>reply</c> makes of the
/// client's own address (null: no answer, the connection is held open until disposal).
/// </summary>
internal sealed class FakeRendezvousServer : IDisposable
{
    private readonly Socket _listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    private readonly Func<IPEndPoint, string?> _reply;
    private readonly List<Socket> _held = [];
    private readonly CancellationTokenSource _stop = new();

    public FakeRendezvousServer(Func<IPEndPoint, string?> reply)
    {
        _reply = reply;
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(512);
        _ = AcceptAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndPoint!).Port;

    private async Task AcceptAsync()
    {
        try
        {
            while (true)
            {
                var client = await _listener.AcceptAsync(_stop.Token);
                _ = ServeAsync(client);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
            // Disposed.
        }
    }

    private async Task ServeAsync(Socket client)
    {
        try
        {
            var key = new byte[TStun.KeyLength];
            int read = 0;
            while (read < key.Length)
            {
                int n = await client.ReceiveAsync(key.AsMemory(read), SocketFlags.None, _stop.Token);
                if (n == 0)
                {
                    break;
                }
                read += n;
            }
            string? reply = _reply((IPEndPoint)client.RemoteEndPoint!);
            if (reply is null)
            {
                lock (_held)
                {
                    _held.Add(client);
                }
                return;
            }
            await client.SendAsync(Encoding.ASCII.GetBytes(reply), SocketFlags.None, _stop.Token);
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
