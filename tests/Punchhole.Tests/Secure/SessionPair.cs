using System.Net.Sockets;
using System.Security.Cryptography;
using Punchhole.Secure;
using Punchhole.Secure.Codes;
using Punchhole.Secure.Mux;

namespace Punchhole.Tests.Secure;

/// <summary>Two secure sessions that completed the handshake with each other over the given sockets.</summary>
internal sealed class SessionPair : IAsyncDisposable
{
    public static readonly SecretCode Code = SecretCode.FromCode(PairingCode.Parse("482913-tonul-kemar-osku"));

    private readonly IDisposable? _sockets;

    private SessionPair(MuxSession a, MuxSession b, IDisposable? sockets)
    {
        A = a;
        B = b;
        _sockets = sockets;
    }

    public MuxSession A { get; }

    public MuxSession B { get; }

    public static async Task<SessionPair> ConnectAsync()
    {
        var pair = await LoopbackPair.ConnectAsync();
        return await ConnectAsync(pair.A, pair.B, pair);
    }

    public static async Task<SessionPair> ConnectAsync(Socket a, Socket b, IDisposable? sockets = null)
    {
        var sessionA = SecureSession.EstablishAsync(a, Code);
        var sessionB = SecureSession.EstablishAsync(b, Code);
        return new SessionPair(await sessionA, await sessionB, sockets);
    }

    public async ValueTask DisposeAsync()
    {
        await A.DisposeAsync();
        await B.DisposeAsync();
        _sockets?.Dispose();
    }

    /// <summary>Writes <paramref name="length"/> bytes of a seeded sequence in 80 KiB writes, then half-closes; returns their SHA-256.</summary>
    public static async Task<string> SendAsync(Stream stream, long length, int seed, CancellationToken cancellationToken = default)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var random = new Random(seed);
        byte[] chunk = new byte[80 * 1024];
        random.NextBytes(chunk);
        for (long sent = 0; sent < length; sent += chunk.Length)
        {
            int n = (int)Math.Min(chunk.Length, length - sent);
            random.NextBytes(chunk.AsSpan(0, Math.Min(n, 1024)));
            hash.AppendData(chunk, 0, n);
            await stream.WriteAsync(chunk.AsMemory(0, n), cancellationToken);
        }
        ((MuxStream)stream).CompleteWrites();
        return Convert.ToHexString(hash.GetHashAndReset());
    }

    /// <summary>Reads to the end; returns the count and SHA-256 of what arrived.</summary>
    public static async Task<(long Count, string Digest)> ReceiveAsync(Stream stream, CancellationToken cancellationToken = default)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        byte[] buffer = new byte[64 * 1024];
        long count = 0;
        int n;
        while ((n = await stream.ReadAsync(buffer, cancellationToken)) > 0)
        {
            hash.AppendData(buffer, 0, n);
            count += n;
        }
        return (count, Convert.ToHexString(hash.GetHashAndReset()));
    }
}
