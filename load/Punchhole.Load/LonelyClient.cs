using System.Diagnostics;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Punchhole.Protocol;

namespace Punchhole.Load;

/// <summary>
/// A client whose key nobody else has: it sends the key, half-closes and waits. The server must
/// never give it an address, and should close it (with no reply) at its own --timeout; the
/// client gives up at --lonely-wait. Success is "closed with no reply", timed from the key.
/// </summary>
internal sealed class LonelyClient : Attempt
{
    private readonly ClientConnection _client = new();
    private readonly byte[] _wireKey = new byte[TStun.KeyLength];

    /// <summary>Waits to be closed; null when the server closed it with no reply in time, else the error.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<ErrorKind?> RunAsync(LoadTarget target, TimeSpan wait)
    {
        Reset();
        Random.Shared.NextBytes(_wireKey);
        try
        {
            _client.Open(target);
        }
        catch (SocketException e)
        {
            return ErrorKinds.FromSocketError(e.SocketErrorCode, abortedFor: null);
        }
        Arm(Stopwatch.GetTimestamp() + LoadRun.Ticks(wait));
        ErrorKind? failure = null;
        try
        {
            await _client.SendKeyAsync(target.Server, _wireKey);
            await _client.ReadReplyAsync();
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException)
        {
            failure = Classify(e);
        }
        bool inTime = Disarm();
        var error = failure
            ?? (inTime ? null : AbortedFor)
            ?? (_client.Reply.IsEmpty ? null : ErrorKind.UnpairedGotReply);
        _client.Close();
        return error;
    }

    protected override void AbortSockets() => _client.Abort();
}
