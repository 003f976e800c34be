using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using Punchhole.Client.Relay;

namespace Punchhole.Client.Forwarding;

/// <summary>
/// -L: listens on every address of the bind host (both 127.0.0.1 and ::1 for "localhost", as
/// ssh does). Plain mode hands the first local connection to the relay and carries only that
/// one, so any later one is refused with a reset and a line that says why; the secure mode takes
/// every connection (<see cref="AcceptAsync"/>), each carried as a stream of its own.
/// </summary>
internal sealed class LocalListener : IDisposable
{
    private readonly Socket[] _listeners;
    private readonly ClientLog _log;
    private readonly TaskCompletionSource<Socket> _first = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Channel<Socket>? _accepted;
    private int _taken;

    private LocalListener(Socket[] listeners, ClientLog log, bool many)
    {
        (_listeners, _log) = (listeners, log);
        _accepted = many ? Channel.CreateUnbounded<Socket>() : null;
        foreach (var listener in listeners)
        {
            _ = AcceptLoopAsync(listener);
        }
    }

    /// <summary>Binds and listens before the rendezvous, so a port in use fails at once, not after the peer has come.</summary>
    public static async Task<LocalListener> OpenAsync(ListenForward listen, ClientLog log, bool many = false)
    {
        IPAddress[] addresses = listen.Host is null
            ? [IPAddress.Loopback]
            : await HostResolver.ResolveAsync(listen.Host, null, "the -L address").ConfigureAwait(false);
        var listeners = new List<Socket>();
        int port = listen.Port;
        try
        {
            foreach (var address in addresses.Distinct())
            {
                var endPoint = new IPEndPoint(address, port);
                var listener = Listen(endPoint, skipUnusable: listeners.Count > 0 || addresses.Length > 1);
                if (listener is null)
                {
                    continue;
                }
                listeners.Add(listener);
                // With port 0 the first address decides, so every address serves one port.
                port = ((IPEndPoint)listener.LocalEndPoint!).Port;
                log.Info(many
                    ? $"listening on {listener.LocalEndPoint}; every connection there is forwarded to the peer"
                    : $"listening on {listener.LocalEndPoint}; the first connection there is forwarded to the peer");
            }
            if (listeners.Count == 0)
            {
                throw new ClientFailure($"cannot listen on {listen}: none of its addresses ({string.Join(", ", addresses.AsEnumerable())}) can be used here");
            }
            return new LocalListener([.. listeners], log, many);
        }
        catch
        {
            listeners.ForEach(l => l.Dispose());
            throw;
        }
    }

    /// <summary>A listening socket, or null for an address this host cannot use (::1 without IPv6) when another may do.</summary>
    private static Socket? Listen(IPEndPoint endPoint, bool skipUnusable)
    {
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (endPoint.AddressFamily == AddressFamily.InterNetworkV6)
            {
                socket.DualMode = false;
            }
            socket.Bind(endPoint);
            // The system's limit, not a handful: a browser opens six connections at once, and one
            // that overflows the queue waits a second or more for its SYN to be sent again.
            socket.Listen();
            return socket;
        }
        catch (SocketException e)
        {
            socket.Dispose();
            if (skipUnusable && e.SocketErrorCode is SocketError.AddressNotAvailable or SocketError.AddressFamilyNotSupported)
            {
                return null;
            }
            throw new ClientFailure($"cannot listen on {endPoint}: {ErrorText.Of(e)}");
        }
    }

    /// <summary>
    /// The first local connection, as a relay end, and what the peer sent while it was awaited.
    /// Meanwhile the punched connection is watched: if the peer goes away, this fails rather than
    /// wait for ever.
    /// </summary>
    /// <returns>The local end, and the peer's end as the relay must read it: first what the peer sent meanwhile.</returns>
    public async Task<(SocketEnd Local, RelayEnd Peer)> AcceptFirstAsync(SocketEnd peer)
    {
        var endPoints = string.Join(" and ", _listeners.Select(l => l.LocalEndPoint));
        _log.Info($"waiting for a connection on {endPoints} to forward");
        var watch = new PeerWatch(peer.Socket);
        if (await Task.WhenAny(_first.Task, watch.Ended).ConfigureAwait(false) != _first.Task
            && await watch.Ended.ConfigureAwait(false) is { } reason)
        {
            throw new ClientFailure($"{reason} before a local connection came to {endPoints}");
        }
        var (early, error) = await watch.StopAsync().ConfigureAwait(false);
        var local = await _first.Task.ConfigureAwait(false);
        _log.Info($"forwarding {local.RemoteEndPoint} to the peer");
        var localEnd = new SocketEnd(local, $"the local connection from {local.RemoteEndPoint}");
        return (localEnd, early.IsEmpty && error is null ? peer : new PrefixedEnd(peer, early, error));
    }

    /// <summary>The next local connection (secure mode: every one is taken).</summary>
    public async Task<Socket> AcceptAsync(CancellationToken cancellationToken)
    {
        var accepted = _accepted ?? throw new InvalidOperationException("This listener takes one connection.");
        return await accepted.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task AcceptLoopAsync(Socket listener)
    {
        try
        {
            while (true)
            {
                var socket = await listener.AcceptAsync().ConfigureAwait(false);
                socket.NoDelay = true;
                // Reset, not FIN, if we are killed before the relay ends.
                socket.LingerState = new LingerOption(true, 0);
                if (_accepted is not null)
                {
                    _accepted.Writer.TryWrite(socket);
                    continue;
                }
                if (Interlocked.Exchange(ref _taken, 1) == 0)
                {
                    _first.TrySetResult(socket);
                    continue;
                }
                string from = socket.RemoteEndPoint?.ToString() ?? "?";
                socket.Dispose();
                _log.Info($"refused a second local connection from {from} with a reset: --plain carries one connection; without it, many");
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Closed at the end of the session.
        }
    }

    public void Dispose()
    {
        foreach (var listener in _listeners)
        {
            listener.Dispose();
        }
        // A connection accepted but never relayed is reset (its linger is 0); one relayed is closed already.
        if (_first.Task.IsCompletedSuccessfully)
        {
            _first.Task.Result.Dispose();
        }
        _accepted?.Writer.TryComplete();
        while (_accepted is not null && _accepted.Reader.TryRead(out var waiting))
        {
            waiting.Dispose();
        }
    }
}
