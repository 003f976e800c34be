using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;

namespace Punchhole.Tests.Support;

/// <summary>
/// Two punchhole processes that pair through a real T-STUN server on loopback, whatever build they
/// are (a static binary, one under qemu, an installed .NET tool): a chat both ways, or a one-way
/// transfer checked byte for byte. Both must exit 0. Each run returns its transcript: what was
/// typed and read, and both clients' stderr.
/// </summary>
internal static class ClientPair
{
    /// <summary>
    /// Each side sends a line and reads the other's; then both close stdin and must end with
    /// exit status 0 and nothing more on stdout. <paramref name="options"/> go before the key.
    /// </summary>
    public static async Task<List<string>> ChatAsync(Launcher client, IPEndPoint server, TimeSpan wait, params string[] options)
    {
        string[] args = Arguments(server, "-4T", options, "chat " + Guid.NewGuid().ToString("N")[..8]);
        using var a = client.Start(args);
        using var b = client.Start(args);
        var transcript = new List<string> { $"$ {client} {Shell(args)}   (twice: a and b)" };
        try
        {
            await SayAsync((a, "a"), "hello from a", (b, "b"), transcript, wait);
            await SayAsync((b, "b"), "hello from b", (a, "a"), transcript, wait);
            a.Input.Close();
            b.Input.Close();
            Assert.Equal("", await ReadRestAsync(a.Output, wait));
            Assert.Equal("", await ReadRestAsync(b.Output, wait));
            Assert.Equal(0, await a.WaitForExitAsync(wait));
            Assert.Equal(0, await b.WaitForExitAsync(wait));
        }
        finally
        {
            Record(transcript, "a", a);
            Record(transcript, "b", b);
        }
        return transcript;
    }

    /// <summary>
    /// A sender (-s) copies <paramref name="bytes"/> random bytes from stdin to a receiver (-r),
    /// which must write exactly those bytes to stdout.
    /// </summary>
    public static async Task<List<string>> TransferAsync(Launcher client, IPEndPoint server, int bytes, TimeSpan wait, params string[] options)
    {
        string key = "file " + Guid.NewGuid().ToString("N")[..8];
        string[] receiveArgs = Arguments(server, "-4rT", options, key);
        string[] sendArgs = Arguments(server, "-4sT", options, key);
        byte[] data = StreamCheck.RandomBytes(bytes);
        var transcript = new List<string>
        {
            $"$ {client} {Shell(receiveArgs)} > received",
            $"$ {client} {Shell(sendArgs)} < {bytes} random bytes (SHA-256 {StreamCheck.Digest(data)[..16]}...)",
        };
        using var receiver = client.Start(receiveArgs);
        using var sender = client.Start(sendArgs);
        try
        {
            using var timeout = new CancellationTokenSource(wait);
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var reading = CountAndHashAsync(receiver.Output, hash, timeout.Token);
            await sender.Input.WriteAsync(data, timeout.Token);
            sender.Input.Close();
            Assert.Equal(0, await sender.WaitForExitAsync(wait));
            Assert.Equal(0, await receiver.WaitForExitAsync(wait));
            long received = await reading;
            string digest = Convert.ToHexString(hash.GetHashAndReset());
            transcript.Add($"received {received} bytes (SHA-256 {digest[..16]}...)");
            Assert.Equal(bytes, received);
            Assert.Equal(StreamCheck.Digest(data), digest);
        }
        finally
        {
            Record(transcript, "receiver", receiver);
            Record(transcript, "sender", sender);
        }
        return transcript;
    }

    /// <summary>Arguments as a shell would need them typed, for the transcript.</summary>
    private static string Shell(string[] args) => string.Join(' ', args.Select(a => a.Contains(' ', StringComparison.Ordinal) ? $"'{a}'" : a));

    private static string[] Arguments(IPEndPoint server, string flags, string[] options, string key) =>
        [flags, server.Address.ToString(), "-P", server.Port.ToString(CultureInfo.InvariantCulture), .. options, key];

    private static async Task SayAsync((ChildProcess Process, string Name) from, string line, (ChildProcess Process, string Name) to, List<string> transcript, TimeSpan wait)
    {
        transcript.Add($"{from.Name} stdin  < {line}");
        await from.Process.Input.WriteAsync(Encoding.UTF8.GetBytes(line + "\n"));
        await from.Process.Input.FlushAsync();
        string heard = await ReadLineAsync(to.Process.Output, wait);
        transcript.Add($"{to.Name} stdout > {heard}");
        Assert.Equal(line, heard);
    }

    /// <summary>One line from a child's stdout, byte by byte so nothing after it is consumed.</summary>
    private static async Task<string> ReadLineAsync(Stream output, TimeSpan wait)
    {
        using var timeout = new CancellationTokenSource(wait);
        var line = new List<byte>();
        var one = new byte[1];
        while (await output.ReadAsync(one, timeout.Token) == 1 && one[0] != '\n')
        {
            line.Add(one[0]);
        }
        return Encoding.UTF8.GetString([.. line]);
    }

    private static async Task<string> ReadRestAsync(Stream output, TimeSpan wait)
    {
        using var timeout = new CancellationTokenSource(wait);
        using var rest = new MemoryStream();
        await output.CopyToAsync(rest, timeout.Token);
        return Encoding.UTF8.GetString(rest.ToArray());
    }

    private static async Task<long> CountAndHashAsync(Stream output, IncrementalHash hash, CancellationToken cancel)
    {
        var buffer = new byte[64 * 1024];
        long count = 0;
        int n;
        while ((n = await output.ReadAsync(buffer, cancel)) > 0)
        {
            hash.AppendData(buffer, 0, n);
            count += n;
        }
        return count;
    }

    private static void Record(List<string> transcript, string name, ChildProcess client) =>
        transcript.AddRange(client.Lines.Select(line => $"{name} stderr: {line}"));
}
