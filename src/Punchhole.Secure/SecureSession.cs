using System.Net.Sockets;
using Punchhole.Secure.Codes;
using Punchhole.Secure.Handshake;
using Punchhole.Secure.Mux;
using Punchhole.Secure.Records;

namespace Punchhole.Secure;

/// <summary>
/// The secure channel's entry point: the handshake over a connected socket or stream, then the
/// multiplexed session. Nothing but the handshake is sent before the peer has proven it knows
/// the code.
/// </summary>
internal static class SecureSession
{
    /// <summary>Runs the handshake over <paramref name="socket"/>, which the session then owns.</summary>
    /// <exception cref="AuthenticationFailedException">Wrong code, or a party in between.</exception>
    /// <exception cref="SecureChannelException">Not a secure peer, another version, a timeout, an early close.</exception>
    public static Task<MuxSession> EstablishAsync(Socket socket, SecretCode code, CancellationToken cancellationToken = default) =>
        EstablishAsync(Transport.Over(socket), code, SecureHandshake.DefaultTimeout, cancellationToken);

    /// <summary>As above, offering AES-256-GCM or not whatever this process's <see cref="CipherPreference"/> says.</summary>
    public static Task<MuxSession> EstablishAsync(Socket socket, SecretCode code, bool offerAesGcm, CancellationToken cancellationToken = default) =>
        EstablishAsync(Transport.Over(socket), code, SecureHandshake.DefaultTimeout, cancellationToken, offerAesGcm);

    /// <summary>Runs the handshake over a connected duplex <paramref name="stream"/>, which the session then owns.</summary>
    public static Task<MuxSession> EstablishAsync(Stream stream, SecretCode code, CancellationToken cancellationToken = default) =>
        EstablishAsync(Transport.Over(stream), code, SecureHandshake.DefaultTimeout, cancellationToken);

    /// <summary>
    /// Runs the handshake over <paramref name="transport"/> within <paramref name="timeout"/>.
    /// On failure the transport is closed. AES-256-GCM is offered when <paramref name="offerAesGcm"/>
    /// says so, by default when <see cref="CipherPreference.OfferAesGcm"/> does.
    /// </summary>
    public static async Task<MuxSession> EstablishAsync(Transport transport, SecretCode code, TimeSpan timeout, CancellationToken cancellationToken, bool? offerAesGcm = null)
    {
        try
        {
            using var keys = await SecureHandshake.RunAsync(transport.Input, transport.Output, code.Password, code.ChannelId, timeout, cancellationToken,
                (offerAesGcm ?? CipherPreference.OfferAesGcm) && Sodium.Aes256Gcm.IsAvailable).ConfigureAwait(false);
            return MuxSession.Start(transport, keys);
        }
        catch
        {
            await transport.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }
}
