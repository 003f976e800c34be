using System.Net.Sockets;
using System.Security.Cryptography;

namespace Punchhole.Tests.Support;

/// <summary>Random payloads and their digests, for byte-exact transfer checks.</summary>
internal static class StreamCheck
{
    public static byte[] RandomBytes(int count)
    {
        var bytes = new byte[count];
        Random.Shared.NextBytes(bytes);
        return bytes;
    }

    public static string Digest(ReadOnlySpan<byte> bytes) => Convert.ToHexString(SHA256.HashData(bytes));

    /// <summary>Reads a socket to EOF; returns the byte count and SHA-256 of what arrived.</summary>
    public static async Task<(long Count, string Digest)> ReadToEndAsync(Socket socket, TimeSpan wait)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using var timeout = new CancellationTokenSource(wait);
        var buffer = new byte[64 * 1024];
        long count = 0;
        int n;
        while ((n = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token)) > 0)
        {
            hash.AppendData(buffer, 0, n);
            count += n;
        }
        return (count, Convert.ToHexString(hash.GetHashAndReset()));
    }

    /// <summary>Reads a socket until it ends, whatever arrives; the byte count, and whether it ended with a reset rather than a FIN.</summary>
    public static async Task<(long Count, bool Reset)> DrainAsync(Socket socket, TimeSpan wait)
    {
        using var timeout = new CancellationTokenSource(wait);
        var buffer = new byte[64 * 1024];
        long count = 0;
        try
        {
            int n;
            while ((n = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token)) > 0)
            {
                count += n;
            }
            return (count, false);
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
        {
            return (count, true);
        }
    }

    /// <summary>Sends everything, then half-closes.</summary>
    public static async Task SendAllAsync(Socket socket, ReadOnlyMemory<byte> bytes, TimeSpan wait)
    {
        using var timeout = new CancellationTokenSource(wait);
        await socket.SendAsync(bytes, SocketFlags.None, timeout.Token);
        socket.Shutdown(SocketShutdown.Send);
    }
}
