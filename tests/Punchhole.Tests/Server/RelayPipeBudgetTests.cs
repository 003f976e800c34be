using System.Net.Sockets;
using System.Security.Cryptography;
using Punchhole.RelayBench;
using Punchhole.Tests.Support;

namespace Punchhole.Tests.Server;

/// <summary>
/// The relay within the kernel's per-user pipe budget (fs.pipe-user-pages-soft, 16,384 pages by
/// default), as tstun should run: a real tstun process under a user of its own with no
/// capabilities, so the budget applies (root is exempt) and no other process shares it. A
/// thousand idle sessions hold one page per pipe; busy ones grow until the budget refuses, which
/// is counted and costs no session anything; idle pipes give their pages back.
/// </summary>
[Collection(HeavyCollection.Name)]
public class RelayPipeBudgetTests
{
    private const int Sessions = 1000;
    private const int Busy = 96;
    private const int BusyBytes = 4 << 20;
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [Fact(Timeout = 240_000)]
    public async Task A_thousand_idle_sessions_hold_a_page_per_pipe_and_busy_ones_grow_until_the_budget_refuses_without_failing_any()
    {
        Assert.True(Environment.UserName == "root", "this test starts tstun as another user: run it as root");
        // A user nobody else runs as: the budget is per user, so it is this tstun's alone.
        string user = (3_000_000 + Environment.ProcessId).ToString(System.Globalization.CultureInfo.InvariantCulture);
        using var server = ServerProcess.Start("setpriv",
            $"--reuid={user}", $"--regid={user}", "--clear-groups", "--inh-caps=-all", "--bounding-set=-all",
            ServerProcess.BuiltExecutable, "--port", "0", "--bind", "127.0.0.1", "--relay", "--relay-mbit", "0",
            "--relay-max", $"{Sessions + 100}", "--relay-max-per-ip", $"{4 * Sessions}");
        var endPoint = await server.WaitUntilListeningAsync();
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(200));
        var pairs = new List<RelayedPair>(Sessions);
        try
        {
            for (int start = 0; start < Sessions; start += 50)
            {
                pairs.AddRange(await Task.WhenAll(Enumerable.Range(start, 50).Select(i =>
                    RelayedPair.OpenAsync(endPoint, Pairing.Source(1, 200, 2 * i), Pairing.Source(1, 200, 2 * i + 1), cancel.Token))));
            }
            var stats = await server.StatsAsync();
            Assert.Equal(Sessions, stats["relay_active"]);
            // Two pipes a session, one page each: 2,000 of the budget's 16,384 pages.
            Assert.Equal(2 * Sessions, stats["relay_pipe_pages"]);
            Assert.Equal(0, stats["relay_pipe_refused"]);

            // Busy sessions at once: each pipe that moves 64 KiB asks for 1 MiB (256 pages), and
            // 96 of those do not fit in what the idle sessions leave.
            var payload = StreamCheck.RandomBytes(BusyBytes);
            string digest = StreamCheck.Digest(payload);
            var transfers = pairs.Take(Busy).Select(async pair =>
            {
                var reading = ReadDigestAsync(pair.Second, BusyBytes, cancel.Token);
                await pair.First.SendAsync(payload, SocketFlags.None, cancel.Token);
                return await reading;
            });
            Assert.All(await Task.WhenAll(transfers), arrived => Assert.Equal(digest, arrived));
            stats = await server.StatsAsync();
            Assert.True(stats["relay_pipe_refused"] > 0, $"no growth was refused: {Format(stats)}");
            Assert.Equal(0, stats["relay_aborted"]);
            Assert.Equal(Sessions, stats["relay_active"]);

            // Idle again: every grown pipe shrinks back to its page within a sweep or two.
            Assert.True(await Pairing.EventuallyAsync(async () => (stats = await server.StatsAsync())["relay_pipe_pages"] == 2 * Sessions, Wait),
                $"the pipes did not shrink back: {Format(stats)}");

            // Every session, the refused ones included, still relays intact bytes both ways.
            await Task.WhenAll(pairs.Select(async (pair, i) =>
            {
                await ExchangeAsync(pair.First, pair.Second, i, cancel.Token);
                await ExchangeAsync(pair.Second, pair.First, -i - 1, cancel.Token);
            }));
        }
        finally
        {
            foreach (var pair in pairs)
            {
                pair.Dispose();
            }
        }
        var end = await server.StatsAsync();
        Assert.True(await Pairing.EventuallyAsync(async () => (end = await server.StatsAsync())["relay_active"] == 0, Wait), Format(end));
        Assert.Equal(Sessions, end["relay_joined"]);
        Assert.Equal(0, end["relay_aborted"]);
        Assert.Equal(0, end["relay_pipe_pages"]);
    }

    private static string Format(Dictionary<string, long> stats) =>
        string.Join(' ', stats.Where(s => s.Key.StartsWith("relay_", StringComparison.Ordinal)).Select(s => $"{s.Key}={s.Value}"));

    /// <summary>A numbered message one way, read back whole and compared.</summary>
    private static async Task ExchangeAsync(Socket from, Socket to, int number, CancellationToken cancel)
    {
        var message = new byte[64];
        BitConverter.TryWriteBytes(message, number);
        message.AsSpan(4).Fill((byte)number);
        await from.SendAsync(message, SocketFlags.None, cancel);
        var arrived = new byte[message.Length];
        int length = 0;
        while (length < arrived.Length)
        {
            int n = await to.ReceiveAsync(arrived.AsMemory(length), SocketFlags.None, cancel);
            Assert.True(n > 0, $"session {number}: the relay ended the stream after {length} bytes");
            length += n;
        }
        Assert.Equal(message, arrived);
    }

    /// <summary>Reads exactly <paramref name="count"/> bytes; their SHA-256.</summary>
    private static async Task<string> ReadDigestAsync(Socket socket, int count, CancellationToken cancel)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[64 * 1024];
        int total = 0;
        while (total < count)
        {
            int n = await socket.ReceiveAsync(buffer.AsMemory(0, Math.Min(buffer.Length, count - total)), SocketFlags.None, cancel);
            Assert.True(n > 0, $"the relay ended the stream after {total} of {count} bytes");
            hash.AppendData(buffer, 0, n);
            total += n;
        }
        return Convert.ToHexString(hash.GetHashAndReset());
    }
}
