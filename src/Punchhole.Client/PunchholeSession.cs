using System.Net;
using System.Net.Sockets;
using Punchhole.Protocol;

namespace Punchhole.Client;

/// <summary>One run of the client: rendezvous, punch, then relay stdin/stdout or a forwarded connection.</summary>
internal sealed class PunchholeSession(ClientOptions options, ClientLog log, Stream input, Stream output)
{
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
                throw new ClientFailure($"the T-STUN server address {address} is not {Describe(wanted)}");
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
            ?? throw new ClientFailure($"the T-STUN server '{options.ServerHost}' has no {(family is { } f ? Describe(f) : "")} address");
        return new IPEndPoint(chosen, options.ServerPort);
    }

    private static string Describe(AddressFamily family) => family == AddressFamily.InterNetwork ? "IPv4 (-4)" : "IPv6 (-6)";

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
        await Relay.JoinAsync(local, peer).ConfigureAwait(false);
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
            await Relay.JoinAsync(peer, local).ConfigureAwait(false);
            log.Info("forwarded connection closed");
        }
    }

    private async Task RelayStandardStreamsAsync(Socket peer)
    {
        using var network = new NetworkStream(peer, ownsSocket: false);
        Task<long> sent, received;
        switch (options.Mode)
        {
            case RelayMode.SendOnly:
                sent = Relay.PumpAsync(input, network, () => Relay.ShutdownSend(peer));
                // Read on until the peer's EOF, so our close never resets data it has not read.
                received = Relay.DrainAsync(peer);
                break;
            case RelayMode.ReceiveOnly:
                Relay.ShutdownSend(peer);
                sent = Task.FromResult(0L);
                received = Relay.PumpAsync(network, output, () => { });
                break;
            default:
                sent = Relay.PumpAsync(input, network, () => Relay.ShutdownSend(peer));
                received = Relay.PumpAsync(network, output, () => { });
                break;
        }
        await Task.WhenAll(sent, received).ConfigureAwait(false);
        log.Info($"done: sent {sent.Result} bytes, received {received.Result} bytes");
    }
}
