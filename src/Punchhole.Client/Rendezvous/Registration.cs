using System.Net;
using System.Net.Sockets;
using Punchhole.Client.Punch;
using Punchhole.Protocol;
using Punchhole.Protocol.CommandLine;

namespace Punchhole.Client.Rendezvous;

/// <summary>
/// One request to the T-STUN server, from the port the punch will use: connect, send the 32-byte
/// key, read <c>ADDR PORT</c> until the server's FIN.
/// <para>
/// Unlike the original client it does not half-close after the key. When a server ends a wait
/// without a reply (ours at --timeout, the original at 30 s), the client registers again from the
/// same port to the same server: the same 4-tuple. Had we sent the first FIN, our side of the old
/// connection would sit in TIME_WAIT for a minute, and where it cannot be reused (Linux without TCP
/// timestamps, other systems) the new connect would fail with "address not available". Instead
/// the server closes first and our reset ends both sides at once. The socket
/// closes with a reset whatever happens (SO_LINGER 0, set before connecting), so a client that is
/// interrupted or killed while waiting is seen by the server as gone, not as a waiter that only
/// half-closed.
/// </para>
/// </summary>
internal static class Registration
{
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The peer's observed endpoint, or null when the server closed without a reply. A connection
    /// that fails is a <see cref="SocketException"/> (the caller decides whether to retry);
    /// <paramref name="deadline"/> cancels the wait with an <see cref="OperationCanceledException"/>.
    /// </summary>
    public static async Task<IPEndPoint?> AskAsync(IPEndPoint server, IPEndPoint local, SessionKey key, Action connected, CancellationToken deadline)
    {
        using var socket = LocalPort.NewSocket(local);
        socket.LingerState = new LingerOption(true, 0);
        using (var connectTimeout = CancellationTokenSource.CreateLinkedTokenSource(deadline))
        {
            connectTimeout.CancelAfter(ConnectTimeout);
            try
            {
                await socket.ConnectAsync(server, connectTimeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!deadline.IsCancellationRequested)
            {
                throw new ClientFailure($"cannot reach the T-STUN server {server}: no answer within {ConnectTimeout.TotalSeconds:0} s");
            }
        }
        connected();

        byte[] buffer = new byte[TStun.MaxReplyLength];
        key.CopyTo(buffer);
        int received = 0;
        try
        {
            await socket.SendAsync(buffer.AsMemory(0, TStun.KeyLength), SocketFlags.None, deadline).ConfigureAwait(false);
            int n;
            while (received < buffer.Length
                && (n = await socket.ReceiveAsync(buffer.AsMemory(received), SocketFlags.None, deadline).ConfigureAwait(false)) > 0)
            {
                received += n;
            }
        }
        catch (SocketException e) when (received == 0 && e.SocketErrorCode == SocketError.ConnectionReset)
        {
            // A server that resets rather than closes at the end of a wait: no reply either.
            return null;
        }
        catch (SocketException e)
        {
            throw new ClientFailure($"the T-STUN server {server} dropped the connection: {ErrorText.Of(e)}");
        }

        if (received == 0)
        {
            return null;
        }
        if (!PeerReply.TryParse(buffer.AsSpan(0, received), out var peer))
        {
            throw new ClientFailure($"the T-STUN server's reply is not 'ADDR PORT': '{OptionValue.Printable(System.Text.Encoding.ASCII.GetString(buffer, 0, received))}'");
        }
        if (peer.IsIPv4 != (local.AddressFamily == AddressFamily.InterNetwork))
        {
            throw new ClientFailure($"the peer's address {peer} is not {ClientOptions.Describe(local.AddressFamily)}; both sides must use the same of -4 and -6");
        }
        return peer.ToEndPoint(local.AddressFamily);
    }
}
