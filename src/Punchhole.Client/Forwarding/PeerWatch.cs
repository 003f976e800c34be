using System.Net.Sockets;

namespace Punchhole.Client.Forwarding;

/// <summary>
/// Reads the punched connection while -L waits for its local connection: a peer that goes away
/// (EOF or reset) is noticed at once, and what it sends first (an SSH server speaks first) is kept
/// for the local connection. Past <see cref="Limit"/> it stops reading and leaves the rest to TCP's
/// flow control; keep-alive still finds a dead peer then.
/// </summary>
internal sealed class PeerWatch
{
    private const int Limit = 1 << 20;

    private readonly Socket _peer;
    private readonly MemoryStream _early = new();
    private readonly CancellationTokenSource _stop = new();
    private Exception? _error;

    public PeerWatch(Socket peer)
    {
        _peer = peer;
        Ended = WatchAsync();
    }

    /// <summary>Completes with why the peer ended ("the peer reset the connection"), or with null once stopped.</summary>
    public Task<string?> Ended { get; }

    /// <summary>
    /// Stops reading; returns what the peer sent meanwhile and the error that ended the watch, if
    /// any. The error must be passed on: the read that met it took it from the socket, and a later
    /// read would find a plain EOF where there was a reset.
    /// </summary>
    public async Task<(ReadOnlyMemory<byte> Early, Exception? Error)> StopAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await Ended.ConfigureAwait(false);
        _stop.Dispose();
        return (_early.GetBuffer().AsMemory(0, (int)_early.Length), _error);
    }

    private async Task<string?> WatchAsync()
    {
        byte[] buffer = new byte[16 * 1024];
        try
        {
            while (_early.Length < Limit)
            {
                // A cancelled receive takes no data: it either completes or is withdrawn.
                int n = await _peer.ReceiveAsync(buffer, SocketFlags.None, _stop.Token).ConfigureAwait(false);
                if (n == 0)
                {
                    return "the peer ended the connection";
                }
                _early.Write(buffer, 0, n);
            }
            await Task.Delay(Timeout.Infinite, _stop.Token).ConfigureAwait(false);
            return null;
        }
        catch (OperationCanceledException)
        {
            return null;
        }
        catch (SocketException e)
        {
            _error = e;
            return ErrorText.Failure("the peer", reading: true, e);
        }
    }
}
