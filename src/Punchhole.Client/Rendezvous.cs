using System.Net;
using System.Net.Sockets;
using Punchhole.Protocol;
using Punchhole.Protocol.CommandLine;

namespace Punchhole.Client;

/// <summary>
/// The T-STUN exchange, from the port the punch will use: connect, send the 32-byte key,
/// half-close, read <c>ADDR PORT</c> until the server's FIN.
/// </summary>
internal static class Rendezvous
{
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Returns the peer's observed endpoint as the server saw it.</summary>
    public static async Task<IPEndPoint> AskAsync(IPEndPoint server, IPEndPoint local, SessionKey key, TimeSpan waitTimeout, ClientLog log)
    {
        using var socket = LocalPort.NewSocket(local);
        try
        {
            using (var connectTimeout = new CancellationTokenSource(ConnectTimeout))
            {
                await socket.ConnectAsync(server, connectTimeout.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            throw new ClientFailure($"cannot reach the T-STUN server {server}: no answer within {ConnectTimeout.TotalSeconds:0} s");
        }
        catch (SocketException e)
        {
            throw new ClientFailure($"cannot reach the T-STUN server {server}: {e.Message}");
        }
        log.Info($"asked the T-STUN server {server} from {local}; waiting for the peer (up to {waitTimeout.TotalSeconds:0} s)");

        byte[] buffer = new byte[TStun.MaxReplyLength];
        key.CopyTo(buffer);
        int received = 0;
        using var wait = new CancellationTokenSource(waitTimeout);
        try
        {
            await socket.SendAsync(buffer.AsMemory(0, TStun.KeyLength), SocketFlags.None, wait.Token).ConfigureAwait(false);
            socket.Shutdown(SocketShutdown.Send);
            int n;
            while (received < buffer.Length
                && (n = await socket.ReceiveAsync(buffer.AsMemory(received), SocketFlags.None, wait.Token).ConfigureAwait(false)) > 0)
            {
                received += n;
            }
        }
        catch (OperationCanceledException)
        {
            throw new ClientFailure($"no peer with the same KEY reached the T-STUN server within {waitTimeout.TotalSeconds:0} s; start the other side with the same KEY and server");
        }
        catch (SocketException e)
        {
            throw new ClientFailure($"the T-STUN server {server} dropped the connection: {e.Message}");
        }
        finally
        {
            // Abort rather than linger: the port is about to be reused for the punch.
            socket.LingerState = new LingerOption(true, 0);
        }

        if (received == 0)
        {
            throw new ClientFailure("the T-STUN server closed the connection without a reply: no peer with the same KEY arrived in time (it waits about 30 s), or the server refused us (a limit)");
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
