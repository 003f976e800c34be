using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Punchhole.Server.Metrics;

/// <summary>
/// A tiny HTTP/1.1 responder for <c>GET /metrics</c> and nothing else, on threads of its own so a
/// scrape never runs on the socket engine's threads that pair clients. It cannot be used to wear
/// the server down: <see cref="Workers"/> threads each serve one connection at a time (more wait in
/// a short listen queue, then the kernel refuses them), a request head may take at most
/// <see cref="RequestTimeout"/> in all and <see cref="MaxRequestBytes"/> bytes, and every
/// connection is closed after one response. At most Workers + 1 descriptors, within the server's reserve.
/// </summary>
internal sealed class MetricsEndpoint : IDisposable
{
    /// <summary>Connections served at once.</summary>
    public const int Workers = 4;

    /// <summary>The longest request head read (Prometheus sends a few hundred bytes).</summary>
    public const int MaxRequestBytes = 8192;

    /// <summary>The longest a client may take to send its request head, and to take the response.</summary>
    public static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(5);

    private const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    private readonly Socket _listener;
    private readonly Func<string> _render;
    private readonly Thread[] _threads = new Thread[Workers];
    private volatile bool _stopped;

    private MetricsEndpoint(Socket listener, Func<string> render)
    {
        _listener = listener;
        _render = render;
        LocalEndPoint = (IPEndPoint)listener.LocalEndPoint!;
    }

    /// <summary>Where it listens (with the real port when 0 was asked for).</summary>
    public IPEndPoint LocalEndPoint { get; }

    /// <summary>Binds <paramref name="at"/> (throws SocketException when it cannot) and starts serving <paramref name="render"/>'s text.</summary>
    public static MetricsEndpoint Start(IPEndPoint at, Func<string> render)
    {
        var listener = new Socket(at.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (at.AddressFamily == AddressFamily.InterNetworkV6 && at.Address.Equals(IPAddress.IPv6Any))
            {
                listener.DualMode = true;
            }
            const int SOL_SOCKET = 1, SO_REUSEADDR = 2;
            listener.SetRawSocketOption(SOL_SOCKET, SO_REUSEADDR, BitConverter.GetBytes(1));
            listener.Bind(at);
            listener.Listen(Workers * 2);
        }
        catch
        {
            listener.Dispose();
            throw;
        }
        var endpoint = new MetricsEndpoint(listener, render);
        for (int i = 0; i < Workers; i++)
        {
            // Small stacks: a worker holds a few buffers and the rendered text, nothing deep.
            endpoint._threads[i] = new Thread(endpoint.Work, 256 * 1024) { IsBackground = true, Name = "tstun metrics" };
            endpoint._threads[i].Start();
        }
        return endpoint;
    }

    private void Work()
    {
        var buffer = new byte[MaxRequestBytes];
        while (!_stopped)
        {
            Socket client;
            try
            {
                client = _listener.Accept();
            }
            catch (Exception) when (_stopped)
            {
                return;
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.TooManyOpenSockets or SocketError.NoBufferSpaceAvailable)
            {
                // Out of descriptors: the pairing path needs them more; try again later.
                Thread.Sleep(100);
                continue;
            }
            catch (SocketException)
            {
                // A client that reset before it was accepted, and the like.
                continue;
            }
            using (client)
            {
                try
                {
                    Serve(client, buffer);
                }
                catch (Exception e) when (e is SocketException or ObjectDisposedException)
                {
                    // The client went away, or was too slow: nothing more to do for it.
                }
            }
        }
    }

    private void Serve(Socket client, byte[] buffer)
    {
        var deadline = Environment.TickCount64 + (long)RequestTimeout.TotalMilliseconds;
        int have = 0, headEnd;
        while ((headEnd = buffer.AsSpan(0, have).IndexOf("\r\n\r\n"u8)) < 0)
        {
            if (have == buffer.Length)
            {
                Respond(client, "431 Request Header Fields Too Large", "request head too large\n", deadline);
                return;
            }
            long left = deadline - Environment.TickCount64;
            if (left <= 0)
            {
                return;
            }
            client.ReceiveTimeout = (int)left;
            int n = client.Receive(buffer, have, buffer.Length - have, SocketFlags.None);
            if (n == 0)
            {
                return;
            }
            have += n;
        }

        // The request line: METHOD SP TARGET SP HTTP/x.y
        var line = buffer.AsSpan(0, headEnd);
        int lineEnd = line.IndexOf("\r\n"u8);
        line = lineEnd < 0 ? line : line[..lineEnd];
        int firstSpace = line.IndexOf((byte)' ');
        int lastSpace = line.LastIndexOf((byte)' ');
        if (firstSpace <= 0 || lastSpace <= firstSpace || !line[(lastSpace + 1)..].StartsWith("HTTP/1."u8))
        {
            Respond(client, "400 Bad Request", "bad request\n", deadline);
            return;
        }
        var method = line[..firstSpace];
        var target = line[(firstSpace + 1)..lastSpace];
        int query = target.IndexOf((byte)'?');
        var path = query < 0 ? target : target[..query];
        bool head = method.SequenceEqual("HEAD"u8);
        if (!head && !method.SequenceEqual("GET"u8))
        {
            Respond(client, "405 Method Not Allowed", "only GET /metrics\n", deadline, extraHeaders: "Allow: GET, HEAD\r\n");
        }
        else if (!path.SequenceEqual("/metrics"u8))
        {
            Respond(client, "404 Not Found", "only /metrics\n", deadline);
        }
        else
        {
            Respond(client, "200 OK", _render(), deadline, ContentType, omitBody: head);
        }
    }

    private static void Respond(Socket client, string status, string body, long deadline,
        string contentType = "text/plain; charset=utf-8", string extraHeaders = "", bool omitBody = false)
    {
        byte[] content = Encoding.UTF8.GetBytes(body);
        string headers = $"HTTP/1.1 {status}\r\nContent-Type: {contentType}\r\nContent-Length: {content.Length}\r\n{extraHeaders}Connection: close\r\n\r\n";
        byte[] response = [.. Encoding.ASCII.GetBytes(headers), .. omitBody ? [] : content];
        int sent = 0;
        while (sent < response.Length)
        {
            long left = deadline - Environment.TickCount64;
            if (left <= 0)
            {
                return;
            }
            client.SendTimeout = (int)left;
            sent += client.Send(response, sent, response.Length - sent, SocketFlags.None);
        }
        // The whole response is out: a FIN after it, so the client reads to the end.
        client.Shutdown(SocketShutdown.Send);
    }

    public void Dispose()
    {
        _stopped = true;
        // Closing the listener wakes the workers blocked in accept; one serving a slow client ends by its deadline.
        _listener.Dispose();
        foreach (var thread in _threads)
        {
            thread?.Join(TimeSpan.FromMilliseconds(500));
        }
    }
}
