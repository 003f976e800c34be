using System.Net.Sockets;
using System.Security.Cryptography;
using Punchhole.Secure;
using Punchhole.Secure.Codes;
using Punchhole.Secure.Mux;
using Punchhole.Secure.Records;
using Punchhole.Secure.Sodium;

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

    /// <summary>
    /// How many empty records (AES-256-GCM signals) each side sends before anything else when both
    /// offer, as <see cref="ConnectAsync(Socket, Socket, IDisposable?, bool?, bool?)"/> does by default
    /// on a CPU that has AES-GCM: the offer and the switch.
    /// </summary>
    public static int SignalRecords => Aes256Gcm.IsAvailable ? 2 : 0;

    public static async Task<SessionPair> ConnectAsync(bool? offerA = null, bool? offerB = null)
    {
        var pair = await LoopbackPair.ConnectAsync();
        return await ConnectAsync(pair.A, pair.B, pair, offerA, offerB);
    }

    /// <summary>
    /// The handshake on both sockets; each side offers AES-256-GCM as told, by default when the CPU
    /// has it (whatever PUNCHHOLE_NO_AESGCM says), and the ciphers are settled before this returns.
    /// </summary>
    public static async Task<SessionPair> ConnectAsync(Socket a, Socket b, IDisposable? sockets = null, bool? offerA = null, bool? offerB = null)
    {
        var sessionA = SecureSession.EstablishAsync(a, Code, offerA ?? Aes256Gcm.IsAvailable);
        var sessionB = SecureSession.EstablishAsync(b, Code, offerB ?? Aes256Gcm.IsAvailable);
        var pair = new SessionPair(await sessionA, await sessionB, sockets);
        await pair.SettledAsync((offerA ?? Aes256Gcm.IsAvailable) && (offerB ?? Aes256Gcm.IsAvailable) ? CipherSuite.Aes256Gcm : CipherSuite.ChaCha20Poly1305);
        return pair;
    }

    /// <summary>
    /// Waits (10 s at most) until both directions use <paramref name="expected"/>: the negotiation
    /// takes a round trip after the handshake, so records sent before it may still be ChaCha20-Poly1305.
    /// </summary>
    private async Task SettledAsync(CipherSuite expected)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (A.SendSuite != expected || B.ReceiveSuite != expected || B.SendSuite != expected || A.ReceiveSuite != expected)
        {
            Assert.True(DateTime.UtcNow < deadline,
                $"the ciphers did not settle on {expected}: A sends {A.SendSuite}, receives {A.ReceiveSuite}; B sends {B.SendSuite}, receives {B.ReceiveSuite}");
            await Task.Delay(2);
        }
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
