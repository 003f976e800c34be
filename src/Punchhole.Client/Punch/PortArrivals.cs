using System.Net;
using System.Net.Sockets;

namespace Punchhole.Client.Punch;

/// <summary>
/// The one accept loop of a <see cref="LocalPort"/>, shared by every punch that uses the port at
/// the same time (each with its own target): a connection accepted on the port goes to the punch
/// that waits for its remote endpoint, never to another, and one from an endpoint nobody waits for
/// is closed with a reset. The loop runs from the first wait until the port is disposed.
/// </summary>
internal sealed class PortArrivals(LocalPort port)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<IPEndPoint, TaskCompletionSource<Socket>> _waiting = new();
    private Task? _loop;
    private Exception? _failure;

    /// <summary>Connections closed because nobody waited for their remote endpoint.</summary>
    public int Strangers { get; private set; }

    /// <summary>
    /// The next connection accepted from <paramref name="peer"/>; null once <paramref name="stop"/>
    /// is cancelled. Throws the <see cref="SocketException"/> if the port cannot listen or accept.
    /// </summary>
    public async Task<Socket?> WaitForAsync(IPEndPoint peer, ClientLog log, CancellationToken stop)
    {
        var arrival = new TaskCompletionSource<Socket>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            if (_failure is not null)
            {
                throw _failure;
            }
            if (!_waiting.TryAdd(peer, arrival))
            {
                throw new InvalidOperationException($"a punch to {peer} already waits on this port");
            }
            _loop ??= AcceptLoopAsync(log);
        }
        try
        {
            using (stop.Register(() => arrival.TrySetCanceled(stop)))
            {
                return await arrival.Task.ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            return null;
        }
        finally
        {
            lock (_gate)
            {
                _waiting.Remove(peer);
            }
        }
    }

    private async Task AcceptLoopAsync(ClientLog log)
    {
        try
        {
            port.Listen();
            while (true)
            {
                var socket = await port.AcceptAsync(CancellationToken.None).ConfigureAwait(false);
                TaskCompletionSource<Socket>? waiter = null;
                lock (_gate)
                {
                    if (socket.RemoteEndPoint is IPEndPoint remote)
                    {
                        _waiting.TryGetValue(remote, out waiter);
                    }
                }
                if (waiter is not null && waiter.TrySetResult(socket))
                {
                    continue;
                }
                Strangers++;
                log.Detail($"closed a connection from {socket.RemoteEndPoint}, which no punch on this port waits for");
                socket.LingerState = new LingerOption(true, 0);
                socket.Dispose();
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Disposed: the port's work is over. A socket error: every waiter, now and later, learns it.
            var failure = e as SocketException ?? (Exception)new ObjectDisposedException(nameof(LocalPort));
            lock (_gate)
            {
                _failure = failure;
                foreach (var waiter in _waiting.Values)
                {
                    waiter.TrySetException(failure);
                }
            }
        }
    }
}
