using System.Net;
using System.Net.Sockets;
using Punchhole.Protocol;

namespace Punchhole.Client;

/// <summary>One run of the client: rendezvous, punch, then relay stdin/stdout or a forwarded connection.</summary>
internal sealed class PunchholeSession(ClientOptions options, ClientLog log, Stream input, Stream output)
{
    /// <summary>How long -s waits for the peer's EOF once it has sent everything.</summary>
    private static readonly TimeSpan DrainAfterEof = TimeSpan.FromSeconds(10);

    public async Task RunAsync()
    {
        var server = await ResolveServerAsync().ConfigureAwait(false);
        var family = server.AddressFamily;
        string phrase = options.Key ?? GenerateKey();
        using var listener = options.Forward is ListenForward listen ? OpenListener(listen) : null;

        Socket peerSocket;
        using (var port = LocalPort.Reserve(options.Bind, family))
        {
            var peer = await Rendezvous.AskAsync(server, port.EndPoint, KeyPhrase.Derive(phrase), options.WaitTimeout, log).ConfigureAwait(false);
            log.Info($"the peer is {peer}");
            peerSocket = await new HolePuncher(port, peer, options, log).PunchAsync().ConfigureAwait(false);
        }
        KeepAlive(peerSocket);
        using (peerSocket)
        {
            switch (options.Forward)
            {
                case ListenForward:
                    await ForwardAcceptedAsync(listener!, peerSocket).ConfigureAwait(false);
                    break;
                case ConnectForward connect:
                    await ForwardToServiceAsync(connect, peerSocket).ConfigureAwait(false);
                    break;
                default:
                    await RelayStandardStreamsAsync(peerSocket).ConfigureAwait(false);
                    break;
            }
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
        if (IPAddress.TryParse(options.ServerHost, out var address))
        {
            if (family is { } wanted && address.AddressFamily != wanted)
            {
                throw new ClientFailure($"the T-STUN server address {address} is not {ClientOptions.Describe(wanted)}");
            }
            return new IPEndPoint(address, options.ServerPort);
        }
        IPAddress[] found;
        try
        {
            found = await Dns.GetHostAddressesAsync(options.ServerHost, family ?? AddressFamily.Unspecified).ConfigureAwait(false);
        }
        catch (SocketException e)
        {
            throw new ClientFailure($"cannot resolve the T-STUN server '{options.ServerHost}': {e.Message}");
        }
        var chosen = found.FirstOrDefault(a => family is null || a.AddressFamily == family)
            ?? throw new ClientFailure($"the T-STUN server '{options.ServerHost}' has no {(family is { } f ? ClientOptions.Describe(f) + " " : "")}address");
        return new IPEndPoint(chosen, options.ServerPort);
    }

    private Socket OpenListener(ListenForward listen)
    {
        var socket = new Socket(listen.Bind.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.Bind(new IPEndPoint(listen.Bind, listen.Port));
            socket.Listen(1);
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw new ClientFailure($"cannot listen on {listen}: {e.Message}");
        }
        log.Info($"listening on {socket.LocalEndPoint}; the first connection there is forwarded to the peer");
        return socket;
    }

    private async Task ForwardAcceptedAsync(Socket listener, Socket peer)
    {
        log.Info($"waiting for a connection on {listener.LocalEndPoint} to forward");
        using var local = await listener.AcceptAsync().ConfigureAwait(false);
        listener.Close();
        log.Info($"forwarding {local.RemoteEndPoint} to the peer");
        await Relay.JoinAsync(local, "the local connection", peer, "the peer").ConfigureAwait(false);
        log.Info("forwarded connection closed");
    }

    private async Task ForwardToServiceAsync(ConnectForward connect, Socket peer)
    {
        var local = new Socket(SocketType.Stream, ProtocolType.Tcp);
        using (local)
        {
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                await local.ConnectAsync(connect.Host, connect.Port, timeout.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException)
            {
                throw new ClientFailure($"cannot connect to the forwarded service {connect}: {(e is SocketException s ? s.Message : "no answer in 10 s")}");
            }
            log.Info($"forwarding the peer to {connect}");
            await Relay.JoinAsync(peer, "the peer", local, $"the service at {connect}").ConfigureAwait(false);
            log.Info("forwarded connection closed");
        }
    }

    private async Task RelayStandardStreamsAsync(Socket peer)
    {
        using var network = new NetworkStream(peer, ownsSocket: false);
        Task<long> sent = Task.FromResult(0L), received;
        switch (options.Mode)
        {
            case RelayMode.SendOnly:
                sent = Relay.PumpAsync(input, "stdin", network, "the peer", () => Relay.ShutdownSend(peer));
                // Read on until the peer's EOF, so our close never resets data it has not read;
                // but not for ever: the original client sends its FIN only at its own stdin's EOF.
                received = Relay.DrainAsync(peer);
                await Relay.BothAsync(sent, DrainAfterOurEofAsync(sent, received), peer).ConfigureAwait(false);
                break;
            case RelayMode.ReceiveOnly:
                Relay.ShutdownSend(peer);
                received = Relay.PumpAsync(network, "the peer", output, "stdout", () => { });
                await received.ConfigureAwait(false);
                break;
            default:
                sent = Relay.PumpAsync(input, "stdin", network, "the peer", () => Relay.ShutdownSend(peer));
                received = Relay.PumpAsync(network, "the peer", output, "stdout", () => { });
                await Relay.BothAsync(sent, received, peer).ConfigureAwait(false);
                break;
        }
        log.Info($"done: sent {sent.Result} bytes, received {(received.IsCompletedSuccessfully ? received.Result : 0)} bytes");
    }

    /// <summary>Waits for the peer's EOF; once ours is out, at most <see cref="DrainAfterEof"/> more.</summary>
    private async Task DrainAfterOurEofAsync(Task sent, Task received)
    {
        if (await Task.WhenAny(received, sent).ConfigureAwait(false) == sent
            && await Task.WhenAny(received, Task.Delay(DrainAfterEof)).ConfigureAwait(false) != received)
        {
            log.Info($"the peer has not closed its side {DrainAfterEof.TotalSeconds:0} s after our EOF; closing");
            return;
        }
        await received.ConfigureAwait(false);
    }
}
