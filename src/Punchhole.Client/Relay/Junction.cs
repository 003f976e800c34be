using System.Net.Sockets;
using Punchhole.Client.Progress;

namespace Punchhole.Client.Relay;

/// <summary>
/// Joins the local end to the peer, the one place where data moves and where the rules of a
/// truthful ending live:
/// <list type="bullet">
/// <item>each direction copies until its source's EOF, then passes the EOF on (a half-close) and
/// waits until the destination has accepted everything;</item>
/// <item>the first failure wins: both ends are aborted at once (a reset, never a FIN first) and
/// the failure names the side and the reason;</item>
/// <item>-s treats data from the peer as a failure (nobody would read it) and -r reports stdin
/// data it never sent.</item>
/// </list>
/// </summary>
internal sealed class Junction(RelayEnd local, RelayEnd peer, RelayMode mode, TransferMeter meter, ClientLog log)
{
    private const int BufferSize = 64 * 1024;

    /// <summary>
    /// How long -s waits for the peer's EOF once the peer has acknowledged all it sent: our -r
    /// ends its side at once, but the original client in its default mode only at its own stdin's EOF.
    /// </summary>
    private static readonly TimeSpan PeerEndWait = TimeSpan.FromSeconds(10);

    /// <summary>How long -r gives its read of stdin to finish when stdin is known to hold something.</summary>
    private static readonly TimeSpan UnsentInputCheck = TimeSpan.FromSeconds(1);

    private readonly TaskCompletionSource<RelayFailure> _failed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Orders a failure against a clean end: once a failure is known, no EOF is passed on as a FIN.</summary>
    private readonly Lock _ending = new();
    private volatile bool _sendingDone;

    public async Task<RelayOutcome> RunAsync()
    {
        Task sending = mode == RelayMode.ReceiveOnly ? SendNothingAsync() : CopyAsync(local, peer, meter.AddSent, outbound: true);
        Task receiving = mode == RelayMode.SendOnly ? ExpectNothingAsync() : CopyAsync(peer, local, meter.AddReceived, outbound: false);
        Task<bool> unsentInput = mode == RelayMode.ReceiveOnly && local.ReportsUnsentInput ? HasInputAsync() : Task.FromResult(false);
        Task finished = mode == RelayMode.SendOnly ? SendOnlyFinishedAsync(sending, receiving) : Task.WhenAll(sending, receiving);

        await Task.WhenAny(finished, _failed.Task).ConfigureAwait(false);
        if (_failed.Task.IsCompleted || finished.IsFaulted)
        {
            peer.Abort();
            local.Abort();
            // A fault is a bug, not a relay failure: the caller reports it.
            await (finished.IsFaulted ? finished : Task.CompletedTask).ConfigureAwait(false);
            return new RelayOutcome(TransferSnapshot.Of(meter), await _failed.Task.ConfigureAwait(false));
        }
        var end = TransferSnapshot.Of(meter);
        if (!unsentInput.IsCompleted && local.SourceReady)
        {
            // Data (or EOF) is waiting and the read is about to see it.
            await Task.WhenAny(unsentInput, Task.Delay(UnsentInputCheck)).ConfigureAwait(false);
        }
        if (unsentInput.IsCompletedSuccessfully && unsentInput.Result)
        {
            return new RelayOutcome(end, null, "stdin has data, but -r never sends it: it was not sent (without -r, stdin goes to the peer)");
        }
        if (mode == RelayMode.ReceiveOnly && end.Received == 0)
        {
            log.Info("the peer sent nothing: is it also using -r?");
        }
        return new RelayOutcome(end, null);
    }

    private void Fail(RelayFailure failure)
    {
        lock (_ending)
        {
            _failed.TrySetResult(failure);
        }
    }

    /// <summary>Copies one direction; at the source's EOF half-closes the destination and waits until it has accepted everything.</summary>
    private async Task CopyAsync(RelayEnd from, RelayEnd to, Action<int> count, bool outbound)
    {
        byte[] buffer = new byte[Math.Max(BufferSize, Math.Max(from.ChunkSize, to.ChunkSize))];
        while (true)
        {
            int n;
            try
            {
                n = await from.ReadAsync(buffer).ConfigureAwait(false);
            }
            catch (Exception e) when (IsFailure(e))
            {
                Fail(RelayFailure.Reading(from.SourceName, e));
                return;
            }
            if (n == 0)
            {
                break;
            }
            // The source's end came with these bytes: they go on with it, not ahead of it.
            bool last = from.EndIsNext;
            try
            {
                await (last ? to.WriteEndingAsync(buffer.AsMemory(0, n)) : to.WriteAsync(buffer.AsMemory(0, n))).ConfigureAwait(false);
            }
            catch (Exception e) when (IsFailure(e))
            {
                Fail(RelayFailure.Writing(to.SinkName, e));
                return;
            }
            count(n);
            if (last)
            {
                break;
            }
        }
        if (!outbound && mode == RelayMode.Both && !_sendingDone && to is StandardStreamsEnd)
        {
            log.Info("the peer has finished sending");
        }
        try
        {
            lock (_ending)
            {
                if (_failed.Task.IsCompleted)
                {
                    return;
                }
                to.EndWriting();
            }
            await to.ConfirmDeliveredAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (IsFailure(e))
        {
            Fail(RelayFailure.Writing(to.SinkName, e));
            return;
        }
        if (outbound)
        {
            _sendingDone = true;
        }
    }

    /// <summary>-r: our side sends nothing, so the peer learns at once that no data comes from here.</summary>
    private Task SendNothingAsync()
    {
        try
        {
            lock (_ending)
            {
                peer.EndWriting();
            }
        }
        catch (Exception e) when (IsFailure(e))
        {
            Fail(RelayFailure.Writing(peer.SinkName, e));
        }
        return Task.CompletedTask;
    }

    /// <summary>-s: the peer should only end its side; anything it sends would be thrown away unread.</summary>
    private async Task ExpectNothingAsync()
    {
        int n;
        try
        {
            n = await peer.ReadAsync(new byte[1]).ConfigureAwait(false);
        }
        catch (Exception e) when (IsFailure(e))
        {
            Fail(RelayFailure.Reading(peer.SourceName, e));
            return;
        }
        if (n > 0)
        {
            Fail(new RelayFailure(peer.SourceName, "the peer is sending too, but -s throws away what it receives: is the other side also using -s? (it should use -r)"));
        }
    }

    /// <summary>-s is done once all it sent was acknowledged and the peer has ended its side, or has not within <see cref="PeerEndWait"/>.</summary>
    private async Task SendOnlyFinishedAsync(Task sending, Task receiving)
    {
        await sending.ConfigureAwait(false);
        if (_failed.Task.IsCompleted || receiving.IsCompleted)
        {
            return;
        }
        if (await Task.WhenAny(receiving, Task.Delay(PeerEndWait)).ConfigureAwait(false) != receiving)
        {
            log.Info($"the peer received everything but has not ended its side {PeerEndWait.TotalSeconds:0} s later; closing");
        }
    }

    /// <summary>-r: whether stdin holds data (which is never sent). An open, silent pipe never answers; that is fine.</summary>
    private async Task<bool> HasInputAsync()
    {
        try
        {
            return await local.ReadAsync(new byte[1]).ConfigureAwait(false) > 0;
        }
        catch (Exception e) when (IsFailure(e))
        {
            return false;
        }
    }

    private static bool IsFailure(Exception e) =>
        e is IOException or SocketException or ObjectDisposedException or UnauthorizedAccessException or OperationCanceledException;
}
