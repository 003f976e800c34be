using System.Net;
using System.Net.Sockets;
using Punchhole.Client.Forwarding;
using Punchhole.Client.Progress;
using Punchhole.Client.Punch;
using Punchhole.Client.Relay;
using Punchhole.Client.Rendezvous;
using Punchhole.Client.Secure;
using Punchhole.Protocol;
using Punchhole.Protocol.V2;
using Punchhole.Secure.Codes;

namespace Punchhole.Client;

/// <summary>
/// One run of the client: rendezvous, punch, then relay stdin/stdout or a forwarded connection.
/// Failures before the relay are <see cref="ClientFailure"/>s; the relay's own ending decides the
/// exit code (<see cref="RelayOutcome"/>).
/// </summary>
internal sealed class PunchholeSession(ClientOptions options, ClientLog log, StandardIo io)
{
    /// <summary>Longer than tstun waits for the other leg (15 s by default), so its own answer comes first.</summary>
    private static readonly TimeSpan RelayJoinTimeout = TimeSpan.FromSeconds(20);

    /// <summary>Returns the exit code.</summary>
    public async Task<int> RunAsync()
    {
        CheckStandardStreams();
        var server = await ResolveServerAsync().ConfigureAwait(false);
        var service = options.Forward is ConnectForward connect ? await ServiceTarget.ResolveAsync(connect).ConfigureAwait(false) : null;
        using var listener = options.Forward is ListenForward listen ? await LocalListener.OpenAsync(listen, log, many: !options.Plain).ConfigureAwait(false) : null;
        if (!options.Plain)
        {
            var code = SecretKey();
            var secured = await PunchAsync(server, code.RendezvousKey).ConfigureAwait(false);
            return await new SecureRelay(options, log, io, JunctionAsync).RunAsync(secured, code, listener, service).ConfigureAwait(false);
        }
        string phrase = options.Key ?? GenerateKey();
        var punched = await PunchAsync(server, KeyPhrase.Derive(phrase)).ConfigureAwait(false);
        using var peerEnd = new SocketEnd(punched, "the peer");
        RelayEnd local, remote = peerEnd;
        try
        {
            switch (options.Forward)
            {
                case ListenForward:
                    (local, remote) = await listener!.AcceptFirstAsync(peerEnd).ConfigureAwait(false);
                    break;
                case ConnectForward:
                    local = await service!.ConnectAsync().ConfigureAwait(false);
                    log.Info($"forwarding the peer to {service.Name}");
                    break;
                default:
                    local = new StandardStreamsEnd(io);
                    break;
            }
        }
        catch
        {
            // The peer must not take our going for a clean end.
            peerEnd.Abort();
            throw;
        }
        using (local)
        {
            return await RelayAsync(local, remote).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Rendezvous with <paramref name="key"/>, then the simultaneous open: the punched connection,
    /// kept alive. Two secure T-STUN/2 clients that received each other's local addresses race those
    /// against the public punch and agree on one connection (<see cref="CandidateRace"/>); plain mode
    /// and the original server's clients punch the public address alone. A secure session whose punch fails continues through the T-STUN server's relay
    /// when the server offered it for this pair (T-STUN/2, tstun --relay, not --no-relay): the relay
    /// carries only the encrypted session, and the handshake on it still proves the peer.
    /// </summary>
    private async Task<Socket> PunchAsync(IPEndPoint server, SessionKey key)
    {
        Socket punched;
        using (var port = LocalPort.Reserve(options.Bind, server.AddressFamily))
        {
            var flags = options.Plain || options.NoRelay ? ClientFlags.None : ClientFlags.RelayOk;
            var rendezvous = new RendezvousWait(server, port.EndPoint, key, options, log, flags);
            var peer = await rendezvous.FindPeerAsync().ConfigureAwait(false);
            log.Info($"the peer is {peer}");
            try
            {
                if (!options.Plain && CandidateRace.Applies(rendezvous.Answer))
                {
                    var path = await CandidateRace.RunAsync(port, rendezvous.Answer!, key, options, log).ConfigureAwait(false);
                    punched = path.Socket;
                    log.Info(ConnectionPath.Direct(path.Remote, path.Candidate));
                }
                else
                {
                    punched = await new HolePuncher(port, peer, options, log).PunchAsync().ConfigureAwait(false);
                    log.Info(ConnectionPath.Direct(peer));
                }
            }
            catch (ClientFailure failure) when (!options.Plain && rendezvous.Answer is { Token.IsEmpty: false } answer)
            {
                log.Info($"{failure.Message}; trying the T-STUN server's relay");
                using var deadline = new CancellationTokenSource(RelayJoinTimeout);
                var relay = answer.RelayServer ?? server;
                punched = await RelayLeg.JoinAsync(relay, answer.Token, deadline.Token).ConfigureAwait(false);
                log.Info(ConnectionPath.Relayed(relay));
            }
        }
        KeepAlive(punched);
        return punched;
    }

    /// <summary>
    /// The secure mode's secret: the code given, a phrase given (stretched with Argon2id, with a
    /// warning when short), or a code generated here and printed for the user to pass on.
    /// </summary>
    private SecretCode SecretKey()
    {
        if (options.Key is not { } key)
        {
            var generated = PairingCode.Generate();
            log.Info($"Generated code: {generated}  (give it to the other side: punchhole ... {generated})");
            return SecretCode.FromCode(generated);
        }
        if (PairingCode.LooksLikeCode(key))
        {
            return SecretCode.FromCode(PairingCode.Parse(key));
        }
        if (SecretCode.IsShortPhrase(key))
        {
            log.Info(SecretCode.ShortPhraseWarning);
        }
        return SecretCode.FromPhrase(key);
    }

    private async Task<int> RelayAsync(RelayEnd local, RelayEnd peer)
    {
        var outcome = await JunctionAsync(local, peer).ConfigureAwait(false);
        log.Info(outcome.Describe());
        return outcome.ExitCode;
    }

    /// <summary>Relays stdin/stdout or the one forwarded connection, with the live progress line for stdin/stdout.</summary>
    private async Task<RelayOutcome> JunctionAsync(RelayEnd local, RelayEnd peer)
    {
        var meter = new TransferMeter();
        RelayOutcome outcome;
        var progress = options.Forward is null && !options.Quiet
            ? TransferProgress.Start(log, meter, sends: options.Mode != RelayMode.ReceiveOnly, receives: options.Mode != RelayMode.SendOnly, local.SourceLength)
            : null;
        try
        {
            outcome = await new Junction(local, peer, options.Mode, meter, log).RunAsync().ConfigureAwait(false);
        }
        finally
        {
            if (progress is not null)
            {
                await progress.DisposeAsync().ConfigureAwait(false);
            }
        }
        return outcome;
    }

    /// <summary>A closed stdin or stdout that the mode needs fails at once, before the peer is involved.</summary>
    private void CheckStandardStreams()
    {
        if (options.Forward is not null)
        {
            return;
        }
        if (io.InputClosed && options.Mode != RelayMode.ReceiveOnly)
        {
            throw new ClientFailure("stdin is closed, so there is nothing to send: use -r to receive only, or < /dev/null to send nothing");
        }
        if (io.OutputClosed && options.Mode != RelayMode.SendOnly)
        {
            throw new ClientFailure("stdout is closed, so what the peer sends could not be written: use -s to send only");
        }
    }

    /// <summary>
    /// Probes an idle punched connection: it keeps the NATs' mappings fresh and finds a dead peer,
    /// e.g. while -L waits for its local client.
    /// </summary>
    private static void KeepAlive(Socket socket)
    {
        socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, true);
        try
        {
            socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveTime, 30);
            socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveInterval, 10);
            socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveRetryCount, 6);
        }
        catch (SocketException)
        {
            // Windows before 10 version 1709 (and Server 2016) cannot tune the probes; with the
            // system's own timing they still find a dead peer, only later.
        }
    }

    private string GenerateKey()
    {
        string phrase = KeyPhrase.Generate();
        log.Info($"Generated KEY: {phrase}");
        return phrase;
    }

    private async Task<IPEndPoint> ResolveServerAsync()
    {
        var family = options.Family ?? options.Bind?.AddressFamily;
        var addresses = await HostResolver.ResolveAsync(options.ServerHost, family, "the T-STUN server").ConfigureAwait(false);
        return new IPEndPoint(addresses[0], options.ServerPort);
    }
}
