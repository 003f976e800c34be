using System.Net;
using System.Net.Sockets;
using Punchhole.Secure;
using Punchhole.Secure.Codes;

namespace Punchhole.Tests.Support;

/// <summary>What a <see cref="MitmRelay"/> does to the bytes from the left client to the right one.</summary>
internal enum MitmMode
{
    /// <summary>Passes everything both ways, keeping a copy.</summary>
    Transparent,

    /// <summary>Flips one bit of the byte at <see cref="MitmRelay.At"/>.</summary>
    FlipByte,

    /// <summary>Sends a FIN to the right client after <see cref="MitmRelay.At"/> bytes, and nothing more.</summary>
    InjectFin,

    /// <summary>Runs a handshake of its own with each client, with a code it made up.</summary>
    OwnHandshake,
}

/// <summary>
/// A man in the middle for client processes: two listeners that a <see cref="FakeRendezvous"/>
/// hands to the two clients as each other's address, so that each "punches" the relay, which
/// joins the two connections and does what <see cref="MitmMode"/> says.
/// </summary>
internal sealed class MitmRelay : IDisposable
{
    private readonly Socket _left = Listen();
    private readonly Socket _right = Listen();
    private readonly MemoryStream _fromLeft = new();
    private readonly MemoryStream _fromRight = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Socket> _accepted = [];

    public MitmRelay(MitmMode mode, long at = 0)
    {
        Mode = mode;
        At = at;
        Running = Task.Run(RunAsync);
    }

    public MitmMode Mode { get; }

    public long At { get; }

    public Task Running { get; }

    /// <summary>Where the left client must connect: the address a rendezvous gives it as its peer's.</summary>
    public IPEndPoint LeftEndPoint => (IPEndPoint)_left.LocalEndPoint!;

    public IPEndPoint RightEndPoint => (IPEndPoint)_right.LocalEndPoint!;

    /// <summary>Every byte the left and the right client sent, as far as the relay read them.</summary>
    public byte[] Captured()
    {
        lock (_fromLeft)
        {
            lock (_fromRight)
            {
                return [.. _fromLeft.ToArray(), .. _fromRight.ToArray()];
            }
        }
    }

    private async Task RunAsync()
    {
        var left = await _left.AcceptAsync(_stop.Token);
        var right = await _right.AcceptAsync(_stop.Token);
        lock (_accepted)
        {
            _accepted.AddRange([left, right]);
        }
        if (Mode == MitmMode.OwnHandshake)
        {
            var code = SecretCode.FromCode(PairingCode.Generate());
            var attempts = new[] { left, right }.Select(async socket =>
            {
                try
                {
                    await using var session = await SecureSession.EstablishAsync(socket, code, _stop.Token);
                }
                catch (SecureChannelException)
                {
                    // Expected: the client does not accept our confirmation.
                }
            });
            await Task.WhenAll(attempts);
            return;
        }
        await Task.WhenAll(PumpAsync(left, right, _fromLeft, tamper: true), PumpAsync(right, left, _fromRight, tamper: false));
    }

    private async Task PumpAsync(Socket from, Socket to, MemoryStream capture, bool tamper)
    {
        byte[] buffer = new byte[64 * 1024];
        long offset = 0;
        try
        {
            while (true)
            {
                int n = await from.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
                if (n == 0)
                {
                    to.Shutdown(SocketShutdown.Send);
                    return;
                }
                lock (capture)
                {
                    capture.Write(buffer, 0, n);
                }
                if (tamper && Mode == MitmMode.FlipByte && At >= offset && At < offset + n)
                {
                    buffer[At - offset] ^= 0x01;
                }
                if (tamper && Mode == MitmMode.InjectFin && offset + n >= At)
                {
                    await to.SendAsync(buffer.AsMemory(0, (int)(At - offset)), SocketFlags.None, _stop.Token);
                    to.Shutdown(SocketShutdown.Send);
                    return;
                }
                await to.SendAsync(buffer.AsMemory(0, n), SocketFlags.None, _stop.Token);
                offset += n;
            }
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // A client went away.
        }
    }

    private static Socket Listen()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        socket.Listen(4);
        return socket;
    }

    public void Dispose()
    {
        _stop.Cancel();
        _left.Dispose();
        _right.Dispose();
        lock (_accepted)
        {
            _accepted.ForEach(s => s.Dispose());
        }
        _stop.Dispose();
    }
}
