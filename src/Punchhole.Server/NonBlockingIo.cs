using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Punchhole.Server;

/// <summary>What a peer's TCP has done with everything written to it so far.</summary>
internal enum Delivery
{
    /// <summary>Every byte was acknowledged: the peer's kernel holds it, so the peer is there.</summary>
    Acknowledged,

    /// <summary>Not acknowledged yet: ask again later.</summary>
    Unacknowledged,

    /// <summary>The connection is gone (reset, or already closed): nothing sent will be delivered.</summary>
    Gone,
}

/// <summary>
/// Raw calls on a socket's descriptor for the hot path: one recv or send that never blocks
/// (MSG_DONTWAIT), and the question whether what was sent has been acknowledged. Going around
/// .NET's socket engine for these saves the SocketAsyncContext and the two fcntl calls that
/// switching a .NET socket to non-blocking costs. Anything that would block falls back to pooled
/// SocketAsyncEventArgs.
/// </summary>
internal static class NonBlockingIo
{
    private const int MSG_DONTWAIT = 0x40;
    private const int MSG_NOSIGNAL = 0x4000;

    /// <summary>Reads what is there; WouldBlock when nothing is, Success with 0 bytes at EOF.</summary>
    public static unsafe SocketError Receive(Socket socket, Span<byte> buffer, out int received)
    {
        fixed (byte* start = buffer)
        {
            return Call(socket, start, buffer.Length, send: false, out received);
        }
    }

    /// <summary>Writes what fits; WouldBlock when nothing does.</summary>
    public static unsafe SocketError Send(Socket socket, ReadOnlySpan<byte> data, out int sent)
    {
        fixed (byte* start = data)
        {
            return Call(socket, start, data.Length, send: true, out sent);
        }
    }

    /// <summary>
    /// Whether the peer's TCP has acknowledged every byte written to <paramref name="socket"/>
    /// (SIOCOUTQ, the bytes sent or queued but not acknowledged, is 0), or the connection is gone
    /// (the TCP state is CLOSE: a reset, since this side has not closed). One ioctl when the
    /// answer is yes; a getsockopt more otherwise.
    /// </summary>
    public static unsafe Delivery Probe(Socket socket)
    {
        if (!TryAddRef(socket, out var handle, out int fd))
        {
            return Delivery.Gone;
        }
        try
        {
            int outstanding = 0;
            if (Libc.ioctl(fd, Libc.SIOCOUTQ, &outstanding) != 0)
            {
                return Delivery.Gone;
            }
            if (outstanding == 0)
            {
                return Delivery.Acknowledged;
            }
            // tcp_info starts with the state byte; the kernel copies only as much as asked for.
            byte state = 0;
            int length = 1;
            return Libc.getsockopt(fd, Libc.IPPROTO_TCP, Libc.TCP_INFO, &state, &length) != 0 || state == Libc.TCP_CLOSE
                ? Delivery.Gone
                : Delivery.Unacknowledged;
        }
        finally
        {
            handle.DangerousRelease();
        }
    }

    /// <summary>Keeps the descriptor from being closed and reused during a raw call; false when it is closed already.</summary>
    public static bool TryAddRef(Socket socket, out SafeHandle handle, out int fd)
    {
        handle = socket.SafeHandle;
        bool added = false;
        try
        {
            handle.DangerousAddRef(ref added);
        }
        catch (ObjectDisposedException)
        {
        }
        fd = added ? (int)handle.DangerousGetHandle() : -1;
        return added;
    }

    private static unsafe SocketError Call(Socket socket, byte* buffer, int length, bool send, out int transferred)
    {
        transferred = 0;
        if (!TryAddRef(socket, out var handle, out int fd))
        {
            return SocketError.OperationAborted;
        }
        try
        {
            while (true)
            {
                nint n = send
                    ? Libc.send(fd, buffer, (nuint)length, MSG_DONTWAIT | MSG_NOSIGNAL)
                    : Libc.recv(fd, buffer, (nuint)length, MSG_DONTWAIT);
                if (n >= 0)
                {
                    transferred = (int)n;
                    return SocketError.Success;
                }
                int errno = Marshal.GetLastPInvokeError();
                if (errno != Libc.EINTR)
                {
                    // Callers tell only success and would-block apart; anything else ends the connection.
                    return errno == Libc.EAGAIN ? SocketError.WouldBlock : SocketError.SocketError;
                }
            }
        }
        finally
        {
            handle.DangerousRelease();
        }
    }
}
