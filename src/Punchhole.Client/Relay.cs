using System.Net.Sockets;

namespace Punchhole.Client;

/// <summary>
/// Copies bytes one way until EOF, then passes the EOF on (a half-close), so each direction of a
/// relay ends on its own: nothing is lost when one side finishes first.
/// </summary>
internal static class Relay
{
    private const int BufferSize = 64 * 1024;

    /// <summary>Copies <paramref name="from"/> to <paramref name="to"/>, then runs <paramref name="atEnd"/>. Returns the byte count.</summary>
    public static async Task<long> PumpAsync(Stream from, Stream to, Action atEnd)
    {
        byte[] buffer = new byte[BufferSize];
        long total = 0;
        try
        {
            int n;
            while ((n = await from.ReadAsync(buffer).ConfigureAwait(false)) > 0)
            {
                await to.WriteAsync(buffer.AsMemory(0, n)).ConfigureAwait(false);
                total += n;
            }
            await to.FlushAsync().ConfigureAwait(false);
        }
        finally
        {
            atEnd();
        }
        return total;
    }

    /// <summary>Reads and discards until EOF: lets a sender see the peer finish before it closes.</summary>
    public static Task<long> DrainAsync(Socket socket) => PumpAsync(new NetworkStream(socket, ownsSocket: false), Stream.Null, () => { });

    /// <summary>Half-closes the sending side; quietly, since the peer may already be gone.</summary>
    public static void ShutdownSend(Socket socket)
    {
        try
        {
            socket.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }
    }

    /// <summary>Joins two sockets both ways, each direction half-closed at its EOF.</summary>
    public static async Task JoinAsync(Socket a, Socket b)
    {
        using var streamA = new NetworkStream(a, ownsSocket: false);
        using var streamB = new NetworkStream(b, ownsSocket: false);
        var aToB = PumpAsync(streamA, streamB, () => ShutdownSend(b));
        var bToA = PumpAsync(streamB, streamA, () => ShutdownSend(a));
        if (await Task.WhenAny(aToB, bToA).ConfigureAwait(false) is { IsFaulted: true })
        {
            // A reset on one side ends both: the other would otherwise wait on a dead partner.
            a.Close(0);
            b.Close(0);
        }
        await Task.WhenAll(aToB, bToA).ConfigureAwait(false);
    }
}
