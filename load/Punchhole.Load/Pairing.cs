using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Text;
using Punchhole.Protocol;

namespace Punchhole.Load;

/// <summary>
/// One honest pairing: two clients with the same fresh random key, each of which must be told the
/// other's address exactly as the server saw it, then EOF. Both clients run at once, as two
/// peers do. The first failure of either ends both and is the pairing's one error.
/// </summary>
internal sealed class Pairing : Attempt
{
    private readonly ClientConnection _first = new();
    private readonly ClientConnection _second = new();
    private readonly byte[] _wireKey = new byte[TStun.KeyLength];
    private int _failure;

    /// <summary>This pairing's key.</summary>
    public SessionKey Key { get; private set; }

    /// <summary>Runs a whole pairing; null when both replies were right, else the error.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<ErrorKind?> RunAsync(LoadTarget target, TimeSpan timeout)
    {
        Start();
        if ((Open(_first, target) ?? Open(_second, target)) is { } failed)
        {
            return End(failed);
        }
        Arm(Deadline(timeout));
        var first = ExchangeAsync(_first, target.Server, sendKey: true);
        var second = ExchangeAsync(_second, target.PartnerServer, sendKey: true);
        await first;
        await second;
        return End(null);
    }

    /// <summary>
    /// The first half of a held pairing: the first client connects, sends its key and half-closes,
    /// then waits (its socket stays open) until <see cref="CompleteAsync"/>. Null when the key was sent.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<ErrorKind?> SendFirstAsync(LoadTarget target, TimeSpan timeout)
    {
        Start();
        if (Open(_first, target) is { } failed)
        {
            return End(failed);
        }
        Arm(Deadline(timeout));
        try
        {
            await _first.SendKeyAsync(target.Server, _wireKey);
        }
        catch (Exception e) when (IsIoFailure(e))
        {
            Fail(Classify(e));
        }
        bool inTime = Disarm();
        if ((Failure ?? (inTime ? null : AbortedFor)) is { } error)
        {
            return End(error);
        }
        return null;
    }

    /// <summary>The second half of a held pairing: its partner arrives and both read their replies.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<ErrorKind?> CompleteAsync(LoadTarget target, TimeSpan timeout)
    {
        Reset();
        if (Open(_second, target) is { } failed)
        {
            return End(failed);
        }
        Arm(Deadline(timeout));
        var first = ExchangeAsync(_first, target.Server, sendKey: false);
        var second = ExchangeAsync(_second, target.PartnerServer, sendKey: true);
        await first;
        await second;
        return End(null);
    }

    /// <summary>For reports of wrong replies: what each client was told and should have been.</summary>
    public string Describe()
    {
        static string Text(ReadOnlySpan<byte> reply) => Encoding.ASCII.GetString(reply).Replace("\n", "\\n", StringComparison.Ordinal);
        return $"key {Key}: first told '{Text(_first.Reply)}' (partner is {_second.Local}), second told '{Text(_second.Reply)}' (partner is {_first.Local})";
    }

    protected override void AbortSockets()
    {
        _first.Abort();
        _second.Abort();
    }

    private void Start()
    {
        Reset();
        _failure = 0;
        Random.Shared.NextBytes(_wireKey);
        Key = SessionKey.Read(_wireKey);
    }

    private ErrorKind? Open(ClientConnection client, LoadTarget target)
    {
        try
        {
            client.Open(target);
            return null;
        }
        catch (SocketException e)
        {
            return ErrorKinds.FromSocketError(e.SocketErrorCode, abortedFor: null);
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask ExchangeAsync(ClientConnection client, EndPoint server, bool sendKey)
    {
        try
        {
            if (sendKey)
            {
                await client.SendKeyAsync(server, _wireKey);
            }
            await client.ReadReplyAsync();
        }
        catch (Exception e) when (IsIoFailure(e))
        {
            Fail(Classify(e));
        }
    }

    /// <summary>Keeps the first failure and ends the other client too: the pairing is lost either way.</summary>
    private void Fail(ErrorKind kind)
    {
        if (Interlocked.CompareExchange(ref _failure, (int)kind + 1, 0) == 0)
        {
            AbortSockets();
        }
    }

    private ErrorKind? Failure => Volatile.Read(ref _failure) is int f and > 0 ? (ErrorKind)(f - 1) : null;

    /// <summary>Ends the attempt: stops its clock, checks both replies, closes both sockets.</summary>
    private ErrorKind? End(ErrorKind? failed)
    {
        bool inTime = Disarm();
        var error = failed
            ?? Failure
            ?? (inTime ? null : AbortedFor)
            ?? _first.CheckReply(_second.Local)
            ?? _second.CheckReply(_first.Local);
        _first.Close();
        _second.Close();
        return error;
    }

    private static long Deadline(TimeSpan timeout) => Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);

    private static bool IsIoFailure(Exception e) => e is SocketException or ObjectDisposedException or OperationCanceledException;
}
