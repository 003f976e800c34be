using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Punchhole.Server;

/// <summary>
/// One recv or send that never blocks (MSG_DONTWAIT), straight on a socket's descriptor. The
/// fast path needs nothing more, and going around .NET's socket engine for it saves the
/// SocketAsyncContext and the two fcntl calls that switching a .NET socket to non-blocking
/// costs. Anything that would block falls back to pooled SocketAsyncEventArgs.
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

    private static unsafe SocketError Call(Socket socket, byte* buffer, int length, bool send, out int transferred)
    {
        transferred = 0;
        var handle = socket.SafeHandle;
        bool added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            int fd = (int)handle.DangerousGetHandle();
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
        catch (ObjectDisposedException)
        {
            return SocketError.OperationAborted;
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }
}
