using System.Net;
using System.Net.Sockets;

namespace Punchhole.Tests.Support;

/// <summary>A loopback TCP echo service standing in for SSH or any service forwarded with -R.</summary>
internal sealed class EchoService : IDisposable
{
    private readonly Socket _listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);

    private EchoService()
    {
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(4);
        _ = ServeAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndPoint!).Port;

    public static EchoService Start() => new();

    private async Task ServeAsync()
    {
        try
        {
            while (true)
            {
                var client = await _listener.AcceptAsync();
                _ = EchoAsync(client);
            }
        }
        catch (Exception e) when (e is ObjectDisposedException or SocketException)
        {
        }
    }

    private static async Task EchoAsync(Socket client)
    {
        using (client)
        {
            var buffer = new byte[64 * 1024];
            try
            {
                int n;
                while ((n = await client.ReceiveAsync(buffer, SocketFlags.None)) > 0)
                {
                    await client.SendAsync(buffer.AsMemory(0, n), SocketFlags.None);
                }
                client.Shutdown(SocketShutdown.Send);
            }
            catch (SocketException)
            {
            }
        }
    }

    public void Dispose() => _listener.Dispose();
}
