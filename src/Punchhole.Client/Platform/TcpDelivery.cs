using System.Diagnostics;
using System.Net.Sockets;

namespace Punchhole.Client.Platform;

/// <summary>
/// Whether the other host's TCP has acknowledged everything written to a socket, the FIN
/// included: a write that returned has only reached our own kernel. On Linux SIOCOUTQ counts the
/// bytes not yet acknowledged, and a connection closed with some still unacknowledged was reset
/// (the error stays on the socket for the reader). Elsewhere the fallback only checks that no
/// error (a reset) is pending, which is what the relay knew before.
/// </summary>
internal static class TcpDelivery
{
    private static readonly TimeSpan LongestPause = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// Returns once nothing is left unacknowledged. Throws a <see cref="SocketException"/> for a
    /// reset, or <see cref="DeliveryStalledException"/> when the count has not moved for
    /// <paramref name="stallLimit"/>. No event reports acknowledgements, so it polls, from 1 ms up
    /// to 50 ms apart.
    /// </summary>
    public static async Task WaitAcknowledgedAsync(Socket socket, TimeSpan stallLimit)
    {
        if (!OperatingSystem.IsLinux())
        {
            ThrowIfFailed(socket);
            return;
        }
        long last = -1;
        long lastChange = Stopwatch.GetTimestamp();
        var pause = TimeSpan.FromMilliseconds(1);
        while (true)
        {
            // The state first: CLOSED is final, so what SIOCOUTQ says afterwards is final too, and
            // bytes still unacknowledged then mean a reset. The other order would take the last
            // acknowledgement, arriving between the two reads, for one.
            bool closed = TcpConnectionState.IsClosed(socket);
            long unacknowledged = Unacknowledged(socket);
            if (unacknowledged <= 0)
            {
                return;
            }
            if (closed)
            {
                throw new SocketException((int)SocketError.ConnectionReset);
            }
            if (unacknowledged != last)
            {
                (last, lastChange) = (unacknowledged, Stopwatch.GetTimestamp());
            }
            else if (Stopwatch.GetElapsedTime(lastChange) > stallLimit)
            {
                throw new DeliveryStalledException(unacknowledged, stallLimit);
            }
            await Task.Delay(pause).ConfigureAwait(false);
            pause = pause * 2 < LongestPause ? pause * 2 : LongestPause;
        }
    }

    /// <summary>SO_ERROR: the error a reset left on the socket, if nothing has read it yet (reading it clears it).</summary>
    private static void ThrowIfFailed(Socket socket)
    {
        if (socket.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.Error) is int error && error != 0)
        {
            throw new SocketException(error);
        }
    }

    private static unsafe long Unacknowledged(Socket socket)
    {
        bool added = false;
        try
        {
            socket.SafeHandle.DangerousAddRef(ref added);
            int count;
            if (Libc.ioctl((int)socket.SafeHandle.DangerousGetHandle(), Libc.SIOCOUTQ, &count) != 0)
            {
                // Not a state the kernel reports on (e.g. already closed): nothing to wait for.
                return 0;
            }
            return count;
        }
        finally
        {
            if (added)
            {
                socket.SafeHandle.DangerousRelease();
            }
        }
    }
}

/// <summary>The other host stopped acknowledging what we sent.</summary>
internal sealed class DeliveryStalledException(long unacknowledged, TimeSpan stallLimit)
    : IOException($"{unacknowledged} bytes sent were not acknowledged within {stallLimit.TotalSeconds:0} s")
{
    public long Unacknowledged { get; } = unacknowledged;
}
