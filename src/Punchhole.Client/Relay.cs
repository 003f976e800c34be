using System.Net.Sockets;

namespace Punchhole.Client;

/// <summary>
/// Copies bytes one way until EOF, then passes the EOF on (a half-close), so each direction of a
/// relay ends on its own: nothing is lost when one side finishes first.
/// </summary>
internal static class Relay
{
    private const int BufferSize = 64 * 1024;

    /// <summary>
    /// Copies <paramref name="from"/> to <paramref name="to"/>, then runs <paramref name="atEnd"/>.
    /// Returns the byte count; a failure is an <see cref="IOException"/> naming the end that failed.
    /// </summary>
    public static async Task<long> PumpAsync(Stream from, string fromName, Stream to, string toName, Action atEnd)
    {
        byte[] buffer = new byte[BufferSize];
        long total = 0;
        try
        {
            while (true)
            {
                int n = await Named(from.ReadAsync(buffer), fromName).ConfigureAwait(false);
                if (n == 0)
                {
                    break;
                }
                await Named(to.WriteAsync(buffer.AsMemory(0, n)), toName).ConfigureAwait(false);
                total += n;
            }
            await Named(new ValueTask(to.FlushAsync()), toName).ConfigureAwait(false);
        }
        finally
        {
            atEnd();
        }
        return total;
    }

    /// <summary>Reads and discards until EOF: lets a sender see the peer finish before it closes.</summary>
    public static async Task<long> DrainAsync(Socket socket)
    {
        using var stream = new NetworkStream(socket, ownsSocket: false);
        return await PumpAsync(stream, "the peer", Stream.Null, "nowhere", () => { }).ConfigureAwait(false);
    }

    /// <summary>
    /// Waits for both directions. The first to fail ends both, with its own error: the other may be
    /// blocked on a partner that will never answer (a read of stdin cannot be cancelled).
    /// </summary>
    public static async Task BothAsync(Task one, Task two, params Socket[] abortOnFailure)
    {
        var first = await Task.WhenAny(one, two).ConfigureAwait(false);
        if (first.IsFaulted)
        {
            foreach (var socket in abortOnFailure)
            {
                socket.Close(0);
            }
            await first.ConfigureAwait(false);
        }
        await Task.WhenAll(one, two).ConfigureAwait(false);
    }

    private static async ValueTask<T> Named<T>(ValueTask<T> operation, string end)
    {
        try
        {
            return await operation.ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
            throw new IOException($"{end}: {(e.InnerException as SocketException)?.Message ?? e.Message}", e);
        }
    }

    private static async ValueTask Named(ValueTask operation, string end)
    {
        try
        {
            await operation.ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
            throw new IOException($"{end}: {(e.InnerException as SocketException)?.Message ?? e.Message}", e);
        }
    }

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
    public static async Task JoinAsync(Socket a, string aName, Socket b, string bName)
    {
        using var streamA = new NetworkStream(a, ownsSocket: false);
        using var streamB = new NetworkStream(b, ownsSocket: false);
        await BothAsync(
            PumpAsync(streamA, aName, streamB, bName, () => ShutdownSend(b)),
            PumpAsync(streamB, bName, streamA, aName, () => ShutdownSend(a)),
            a, b).ConfigureAwait(false);
    }
}
