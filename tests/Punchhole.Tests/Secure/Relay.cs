using System.Buffers.Binary;
using System.Net.Sockets;
using Punchhole.Secure.Handshake;
using Punchhole.Secure.Records;

namespace Punchhole.Tests.Secure;

/// <summary>
/// A man in the middle on loopback: each side talks to its own socket of the relay, which passes
/// the bytes on, counting them, and can tamper with the records of one direction: each record is
/// handed to a rule that returns what to send instead (nothing, it, something else).
/// </summary>
internal sealed class Relay : IAsyncDisposable
{
    private readonly LoopbackPair _left;
    private readonly LoopbackPair _right;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _leftToRight;
    private readonly Task _rightToLeft;

    private readonly MemoryStream? _captured;

    private Relay(LoopbackPair left, LoopbackPair right, RecordRule? leftToRight, RecordRule? rightToLeft, int skip, bool capture)
    {
        _left = left;
        _right = right;
        _captured = capture ? new MemoryStream() : null;
        _leftToRight = Task.Run(() => PumpAsync(left.B, right.A, leftToRight, skip, n => Interlocked.Add(ref _fromLeft, n), _captured));
        _rightToLeft = Task.Run(() => PumpAsync(right.A, left.B, rightToLeft, skip, n => Interlocked.Add(ref _fromRight, n), null));
    }

    /// <summary>
    /// What to send for record <paramref name="index"/> (0-based, wire bytes with its header);
    /// null ends the direction with a FIN right there.
    /// </summary>
    public delegate IEnumerable<byte[]>? RecordRule(int index, byte[] record);

    private long _fromLeft;
    private long _fromRight;
    private int _recordsFromLeft;

    /// <summary>Records from the left party the rule has seen so far.</summary>
    public int RecordsFromLeft => Volatile.Read(ref _recordsFromLeft);

    /// <summary>The socket the left party uses.</summary>
    public Socket Left => _left.A;

    /// <summary>The socket the right party uses.</summary>
    public Socket Right => _right.B;

    /// <summary>Bytes the relay received from the left party so far.</summary>
    public long FromLeft => Interlocked.Read(ref _fromLeft);

    /// <summary>Bytes the relay received from the right party so far.</summary>
    public long FromRight => Interlocked.Read(ref _fromRight);

    /// <summary>
    /// A relay that passes <paramref name="skip"/> bytes of each direction (the handshake) as
    /// they come, then applies the rules to the records that follow.
    /// </summary>
    public static async Task<Relay> StartAsync(RecordRule? leftToRight = null, RecordRule? rightToLeft = null, int skip = 0, bool capture = false) =>
        new(await LoopbackPair.ConnectAsync(), await LoopbackPair.ConnectAsync(), leftToRight, rightToLeft, skip, capture);

    /// <summary>Every byte the left party sent, when the relay was started with capture.</summary>
    public byte[] CapturedFromLeft
    {
        get
        {
            lock (_captured!)
            {
                return _captured.ToArray();
            }
        }
    }

    /// <summary>The handshake's bytes per direction: hello and confirmation.</summary>
    public const int HandshakeBytes = SecureHandshake.HelloLength + SecureHandshake.ConfirmLength;

    private async Task PumpAsync(Socket from, Socket to, RecordRule? rule, int skip, Action<int> counted, MemoryStream? capture)
    {
        void count(ReadOnlySpan<byte> bytes)
        {
            counted(bytes.Length);
            if (capture is not null)
            {
                lock (capture)
                {
                    capture.Write(bytes);
                }
            }
        }

        try
        {
            using var input = new NetworkStream(from, ownsSocket: false);
            using var output = new NetworkStream(to, ownsSocket: false);
            if (rule is null)
            {
                var buffer = new byte[64 * 1024];
                int n;
                while ((n = await input.ReadAsync(buffer, _stop.Token)) > 0)
                {
                    count(buffer.AsSpan(0, n));
                    await output.WriteAsync(buffer.AsMemory(0, n), _stop.Token);
                }
                to.Shutdown(SocketShutdown.Send);
                return;
            }
            // The handshake passes as it comes (each side waits for the other's hello).
            byte[] passing = new byte[Math.Max(skip, 1)];
            for (int passed = 0; passed < skip;)
            {
                int n = await input.ReadAsync(passing.AsMemory(0, skip - passed), _stop.Token);
                if (n == 0)
                {
                    to.Shutdown(SocketShutdown.Send);
                    return;
                }
                count(passing.AsSpan(0, n));
                await output.WriteAsync(passing.AsMemory(0, n), _stop.Token);
                passed += n;
            }
            byte[] header = new byte[RecordFormat.HeaderLength];
            for (int index = 0; ; index++)
            {
                if (!await ReadFullyAsync(input, header))
                {
                    break;
                }
                int length = (int)(BinaryPrimitives.ReadUInt32BigEndian(header) & 0x7fff_ffff);
                if (length > RecordFormat.MaxPlaintextLength)
                {
                    // Not a record: pass it on for the receiver to refuse, and stop.
                    await output.WriteAsync(header, _stop.Token);
                    break;
                }
                byte[] record = new byte[RecordFormat.RecordLength(length)];
                header.CopyTo(record, 0);
                if (!await ReadFullyAsync(input, record.AsMemory(RecordFormat.HeaderLength)))
                {
                    break;
                }
                count(record);
                if (from == _left.B)
                {
                    Interlocked.Increment(ref _recordsFromLeft);
                }
                var replacement = rule(index, record);
                if (replacement is null)
                {
                    break;
                }
                foreach (byte[] bytes in replacement)
                {
                    await output.WriteAsync(bytes, _stop.Token);
                }
            }
            to.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // One side went away: the test looks at what the parties saw.
        }
    }

    private async Task<bool> ReadFullyAsync(NetworkStream input, Memory<byte> buffer)
    {
        int done = 0;
        while (done < buffer.Length)
        {
            int n = await input.ReadAsync(buffer[done..], _stop.Token);
            if (n == 0)
            {
                return false;
            }
            done += n;
        }
        return true;
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _left.Dispose();
        _right.Dispose();
        await Task.WhenAll(_leftToRight, _rightToLeft);
        _stop.Dispose();
    }
}
