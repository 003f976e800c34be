using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Punchhole.Server;

namespace Punchhole.Tests.Server;

/// <summary>
/// The disconnect watcher reports a watched connection that is reset, and a connection taken out
/// of its set (as a waiter is before it closes, so that its close is never left to the watcher's
/// thread) is no longer its concern.
/// </summary>
public class DisconnectWatcherTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    [Fact(Timeout = 30_000)]
    public async Task A_reset_is_reported_while_watched_and_not_after_unwatch()
    {
        var reported = new BlockingCollection<ulong>();
        using var watcher = new DisconnectWatcher(reported.Add, _ => DisconnectWatcher.IdleMilliseconds);
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(4);

        // Watched: the peer's reset is reported with the socket's token.
        var (watchedClient, watchedServer) = await ConnectAsync(listener);
        using (watchedServer)
        {
            watcher.Watch(watchedServer, 1);
            Reset(watchedClient);
            Assert.True(reported.TryTake(out ulong token, Bound), "the watched connection's reset was never reported");
            Assert.Equal(1UL, token);
        }

        // Watched, then taken out: its reset is not reported, while a connection still watched
        // and reset after it is (so the watcher was awake and looking).
        var (leftClient, leftServer) = await ConnectAsync(listener);
        var (keptClient, keptServer) = await ConnectAsync(listener);
        using (leftServer)
        using (keptServer)
        {
            watcher.Watch(leftServer, 2);
            watcher.Watch(keptServer, 3);
            watcher.Unwatch(leftServer);
            Reset(leftClient);
            Reset(keptClient);
            Assert.True(reported.TryTake(out ulong token, Bound), "the connection still watched was never reported");
            Assert.Equal(3UL, token);
            Assert.False(reported.TryTake(out token, TimeSpan.FromMilliseconds(300)), $"token {token} was reported after it was taken out");
        }
    }

    private static async Task<(Socket Client, Socket Server)> ConnectAsync(Socket listener)
    {
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(listener.LocalEndPoint!).WaitAsync(Bound);
        var server = await listener.AcceptAsync().WaitAsync(Bound);
        return (client, server);
    }

    // SO_LINGER 0: the close sends a reset.
    private static void Reset(Socket client)
    {
        client.LingerState = new LingerOption(true, 0);
        client.Dispose();
    }
}
