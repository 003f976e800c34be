using System.Net;
using System.Net.Sockets;

namespace Punchhole.Benchmarks.Support;

/// <summary>Two ends of one TCP connection over loopback, Nagle off: what a punched connection is to the secure channel.</summary>
internal static class LoopbackPair
{
    public static (Socket A, Socket B) Connect()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var a = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        a.Connect(listener.LocalEndPoint!);
        var b = listener.Accept();
        b.NoDelay = true;
        return (a, b);
    }
}
