using Punchhole.Client.Forwarding;
using Punchhole.Client.Progress;
using Punchhole.Client.Relay;
using Punchhole.Secure;
using Punchhole.Secure.Mux;

namespace Punchhole.Client.Secure;

/// <summary>
/// Port forwarding over the secure session, many connections at once: -L carries each local
/// connection as a stream of its own, -R opens one connection to the service per stream. Each
/// connection is relayed on its own (its own flow control and half-close), and one that fails is
/// reset alone; the session goes on until the peer ends it or fails.
/// </summary>
internal sealed class SecureForwarding(MuxSession session, ClientLog log)
{
    private int _active;

    /// <summary>-L: every local connection accepted becomes a stream, until the session ends.</summary>
    public async Task ServeAsync(LocalListener listener)
    {
        using var stop = new CancellationTokenSource();
        _ = session.Completion.ContinueWith(_ => stop.Cancel(), TaskScheduler.Default);
        try
        {
            while (true)
            {
                var socket = await listener.AcceptAsync(stop.Token).ConfigureAwait(false);
                MuxStream stream;
                try
                {
                    stream = session.OpenStream();
                }
                catch (SecureChannelException)
                {
                    socket.Dispose();
                    break;
                }
                var local = new SocketEnd(socket, $"the local connection from {socket.RemoteEndPoint}");
                _ = RelayAsync(local, stream);
            }
        }
        catch (OperationCanceledException)
        {
            // The session ended.
        }
        await session.Completion.ConfigureAwait(false);
    }

    /// <summary>-R: every stream the peer opens gets its own connection to the service, until the peer ends the session.</summary>
    public async Task ServeAsync(ServiceTarget service)
    {
        while (await session.AcceptStreamAsync().ConfigureAwait(false) is { } stream)
        {
            _ = ConnectAndRelayAsync(service, stream);
        }
        await session.CloseAsync().ConfigureAwait(false);
    }

    private async Task ConnectAndRelayAsync(ServiceTarget service, MuxStream stream)
    {
        SocketEnd local;
        try
        {
            local = await service.ConnectAsync().ConfigureAwait(false);
        }
        catch (ClientFailure e)
        {
            log.Info($"{e.Message}: the forwarded connection was refused");
            stream.Reset();
            stream.Dispose();
            return;
        }
        await RelayAsync(local, stream).ConfigureAwait(false);
    }

    private async Task RelayAsync(SocketEnd local, MuxStream stream)
    {
        int number = Interlocked.Increment(ref _active);
        using (local)
        using (var peer = new SecureStreamEnd(stream, "the peer"))
        {
            log.Detail($"forwarding {local.SourceName} over stream {stream.Id} ({number} open)");
            RelayOutcome outcome;
            try
            {
                outcome = await new Junction(local, peer, RelayMode.Both, new TransferMeter(), log).RunAsync().ConfigureAwait(false);
            }
            finally
            {
                Interlocked.Decrement(ref _active);
            }
            if (outcome.Failure is not null)
            {
                log.Info($"stream {stream.Id}: {outcome.Describe()}");
            }
            else
            {
                log.Detail($"stream {stream.Id}: {outcome.Describe()}");
            }
        }
    }
}
