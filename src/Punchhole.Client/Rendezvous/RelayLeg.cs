using System.Net;
using System.Net.Sockets;
using System.Text;
using Punchhole.Protocol;
using Punchhole.Protocol.CommandLine;
using Punchhole.Protocol.V2;

namespace Punchhole.Client.Rendezvous;

/// <summary>
/// One leg of a relayed session (docs/PROTOCOL.md, "The relay"): a new connection to the T-STUN
/// server, the 32-byte leg key for this side's token, then the server's status line. After
/// <c>JOINED</c> the connection carries the peer's bytes, so the line is read a byte at a time and
/// nothing after it is taken from the socket. Only secure sessions use it: the relay sees ciphertext.
/// </summary>
internal static class RelayLeg
{
    /// <summary>The joined connection; a <see cref="ClientFailure"/> saying why not.</summary>
    public static async Task<Socket> JoinAsync(IPEndPoint server, RelayToken token, CancellationToken deadline)
    {
        var socket = new Socket(server.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await Registration.ConnectAsync(socket, server, " for the relay", deadline).ConfigureAwait(false);
            var key = new byte[SessionKey.Length];
            token.WriteLegKey(key);
            await socket.SendAsync(key, SocketFlags.None, deadline).ConfigureAwait(false);

            var line = new byte[TStun2.MaxRelayStatusLength];
            int length = 0;
            while (length == 0 || line[length - 1] != TStun2.LineFeed)
            {
                if (length == line.Length
                    || await socket.ReceiveAsync(line.AsMemory(length, 1), SocketFlags.None, deadline).ConfigureAwait(false) == 0)
                {
                    throw new ClientFailure(length == 0
                        ? $"the T-STUN server {server} closed the relay connection without a word"
                        : $"the T-STUN server's answer to the relay leg is not a status line: '{Text(line, length)}'");
                }
                length++;
            }
            if (!RelayStatus.TryParse(line.AsSpan(0, length), out bool joined, out var refusal))
            {
                throw new ClientFailure($"the T-STUN server's answer to the relay leg is not a status line: '{Text(line, length)}'");
            }
            if (!joined)
            {
                throw new ClientFailure($"the T-STUN server refused to relay: {Explain(refusal, line.AsSpan(0, length))}");
            }
            return socket;
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw new ClientFailure($"the relay connection to the T-STUN server {server} failed: {ErrorText.Of(e)}");
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private static string Text(byte[] line, int length) => OptionValue.Printable(Encoding.ASCII.GetString(line, 0, length));

    private static string Explain(RelayRefusal refusal, ReadOnlySpan<byte> line) => refusal switch
    {
        RelayRefusal.Token => "this side's relay token is unknown, expired or used",
        RelayRefusal.Off => "it does not relay",
        RelayRefusal.Busy => "it relays as many sessions as it allows",
        RelayRefusal.PerIp => "this address has as many relay connections open as it allows",
        RelayRefusal.Timeout => "the peer's relay connection did not arrive in time",
        RelayRefusal.Shutdown => "it is shutting down",
        _ => $"'{OptionValue.Printable(Encoding.ASCII.GetString(line).TrimEnd('\n'))}'",
    };
}
