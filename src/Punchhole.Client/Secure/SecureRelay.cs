using System.Net.Sockets;
using Punchhole.Client.Forwarding;
using Punchhole.Client.Relay;
using Punchhole.Secure;
using Punchhole.Secure.Codes;
using Punchhole.Secure.Handshake;
using Punchhole.Secure.Mux;
using Punchhole.Secure.Records;

namespace Punchhole.Client.Secure;

/// <summary>
/// The secure mode after the punch: the handshake, then stdin/stdout over one stream, or port
/// forwarding over many. Nothing from stdin or the service is read before the peer has proven
/// that it knows the code. The exit status is 0 only when the session ended cleanly: both sides'
/// authenticated ends arrived.
/// </summary>
internal sealed class SecureRelay(ClientOptions options, ClientLog log, StandardIo io, Func<RelayEnd, RelayEnd, Task<RelayOutcome>> junction)
{
    /// <summary>How long a side that finished waits for the other's authenticated end.</summary>
    private static readonly TimeSpan CloseWait = TimeSpan.FromSeconds(15);

    /// <summary>
    /// What the peer may have in flight on the stdin/stdout stream: with the default window a bulk
    /// sender waits for credit, and every 256 KiB costs a WINDOW frame and the thread switches on
    /// both sides that go with it (1 GiB over loopback: about 10% of the time).
    /// </summary>
    private const long RelayWindow = 4 * MuxSession.InitialWindow;

    /// <summary>A quarter of the window per write: 16 records, so a quarter of the handoffs between the relay and the session's writer.</summary>
    private const int RelayChunkSize = 4 * MuxStream.PreferredWriteSize;

    public async Task<int> RunAsync(Socket punched, SecretCode code, LocalListener? listener, ServiceTarget? service)
    {
        MuxSession session;
        try
        {
            session = await SecureSession.EstablishAsync(punched, code).ConfigureAwait(false);
        }
        catch (SecureChannelException e)
        {
            throw new ClientFailure(e.Message);
        }
        log.Info("the peer knows the code: the connection is authenticated and encrypted");
        await using (session.ConfigureAwait(false))
        using (Interruption.BeforeExit(() => InterruptAsync(session)))
        {
            try
            {
                switch (options.Forward)
                {
                    case ListenForward:
                        await new SecureForwarding(session, log).ServeAsync(listener!).ConfigureAwait(false);
                        log.Info("the peer ended the session");
                        return 0;
                    case ConnectForward:
                        log.Info($"forwarding every connection from the peer to {service!.Name}");
                        await new SecureForwarding(session, log).ServeAsync(service).ConfigureAwait(false);
                        log.Info("the peer ended the session");
                        return 0;
                    default:
                        return await RelayStandardStreamsAsync(session).ConfigureAwait(false);
                }
            }
            catch (SecureChannelException e) when (!Interruption.Started)
            {
                log.Info(e.Message);
                return 1;
            }
            finally
            {
                log.Detail($"records sent with {Describe(session.SendSuite)}, received with {Describe(session.ReceiveSuite)}");
                // The signal's handler says what happened and sets the exit status.
                await Interruption.HoldIfStartedAsync().ConfigureAwait(false);
            }
        }
    }

    private static string Describe(CipherSuite suite) => suite == CipherSuite.Aes256Gcm ? "AES-256-GCM" : "ChaCha20-Poly1305";

    /// <summary>
    /// Ctrl-C or SIGTERM: the peer learns from an authenticated record whether the session ended
    /// cleanly (no connection was open) or was aborted, instead of guessing from a reset.
    /// </summary>
    private static async Task<string> InterruptAsync(MuxSession session) =>
        await session.InterruptAsync(Interruption.EndingLimit / 2).ConfigureAwait(false) switch
        {
            InterruptedEnd.Clean => "no connection was open; the session ended cleanly on both sides",
            InterruptedEnd.Unconfirmed => "no connection was open; the peer was told the session ended, but did not confirm it",
            InterruptedEnd.Aborted => "the peer was told that the session was aborted; the connections open were reset",
            _ => "connections reset, nothing more is sent or received",
        };

    private async Task<int> RelayStandardStreamsAsync(MuxSession session)
    {
        // One stream: the side the handshake made first opens it, the other accepts it.
        var stream = session.Role == HandshakeRole.First
            ? session.OpenStream()
            : await session.AcceptStreamAsync().ConfigureAwait(false)
                ?? throw new SecureChannelException(SecureFailure.Closed, "the peer ended the session without opening its stream");
        // The stream is alone on the session: a deeper window, and writes of many records each.
        stream.WidenWindow(RelayWindow);
        RelayOutcome outcome;
        using (var peer = new SecureStreamEnd(stream, "the peer", RelayChunkSize))
        {
            outcome = await junction(new StandardStreamsEnd(io), peer).ConfigureAwait(false);
        }
        await Interruption.HoldIfStartedAsync().ConfigureAwait(false);
        if (outcome.Failure is not null)
        {
            await session.AbortAsync().ConfigureAwait(false);
            log.Info(outcome.Describe());
            return 1;
        }
        try
        {
            await session.CloseAsync().WaitAsync(CloseWait).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            log.Info($"the peer did not end the session within {CloseWait.TotalSeconds:0} s: the end of the transfer is not confirmed");
            return 1;
        }
        log.Info(outcome.Describe());
        return outcome.ExitCode;
    }
}
