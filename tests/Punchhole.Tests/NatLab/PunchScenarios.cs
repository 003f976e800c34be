using System.Net;
using System.Net.Sockets;
using Punchhole.NatLab;
using Punchhole.Tests.Support;

namespace Punchhole.Tests.NatLab;

/// <summary>
/// End-to-end runs of the published punchhole, one on each client host of a lab, with the lab's
/// tstun. Every wait is bounded; every failure message carries both clients' stderr.
/// </summary>
internal static class PunchScenarios
{
    public static readonly TimeSpan ConnectWait = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan LineWait = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan TransferWait = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Chat: lines typed on either side appear on the other; after one side's EOF (a half-close)
    /// the other can still talk; when both have ended, both exit 0.
    /// </summary>
    public static async Task ChatAsync(Lab lab, AddressFamily family)
    {
        string punchhole = LabFixture.RequirePunchhole();
        using var pair = PunchPair.Start(lab, punchhole, family);
        Assert.True(await pair.WaitConnectedAsync(ConnectWait) is not null, pair.Describe());

        await SayAsync(pair.A, pair.B, "hello from a\n");
        await SayAsync(pair.B, pair.A, "hello from b\n");
        await SayAsync(pair.A, pair.B, "how are you?\n");
        pair.A.CloseStdin();
        await SayAsync(pair.B, pair.A, "fine; you said goodbye, but I still can talk\n");
        pair.B.CloseStdin();

        var (codeA, codeB, _) = await pair.WaitExitAsync(TimeSpan.FromSeconds(10));
        Assert.True(codeA == 0 && codeB == 0, pair.Describe());
        Assert.Equal("hello from a\nhow are you?\n", pair.B.StdoutText);
        Assert.Equal("hello from b\nfine; you said goodbye, but I still can talk\n", pair.A.StdoutText);
    }

    /// <summary>`-s` on client-a, fed a random file at once; `-r` on client-b; the bytes that arrive have the same SHA-256.</summary>
    public static async Task SendFileAsync(Lab lab, AddressFamily family, int size)
    {
        string punchhole = LabFixture.RequirePunchhole();
        byte[] file = StreamCheck.RandomBytes(size);
        using var pair = PunchPair.Start(lab, punchhole, family, ["-s"], ["-r"]);
        pair.B.CloseStdin();
        var feed = pair.A.FeedAsync(file);

        var (codeA, codeB, elapsed) = await pair.WaitExitAsync(TransferWait);
        Assert.True(codeA == 0 && codeB == 0, pair.Describe());
        await feed;
        Assert.Equal(size, pair.B.StdoutLength);
        Assert.Equal(StreamCheck.Digest(file), Convert.ToHexString(pair.B.StdoutSha256!));
        Assert.Equal(0, pair.A.StdoutLength);
        Assert.True(elapsed < TransferWait, $"{elapsed}");
    }

    /// <summary>Default mode on both sides, each fed its own random file at once: both arrive intact.</summary>
    public static async Task ExchangeFilesAsync(Lab lab, AddressFamily family, int size)
    {
        string punchhole = LabFixture.RequirePunchhole();
        byte[] fromA = StreamCheck.RandomBytes(size);
        byte[] fromB = StreamCheck.RandomBytes(size + 12345);
        using var pair = PunchPair.Start(lab, punchhole, family);
        var feeds = Task.WhenAll(pair.A.FeedAsync(fromA), pair.B.FeedAsync(fromB));

        var (codeA, codeB, _) = await pair.WaitExitAsync(TransferWait);
        Assert.True(codeA == 0 && codeB == 0, pair.Describe());
        await feeds;
        Assert.Equal(fromB.Length, pair.A.StdoutLength);
        Assert.Equal(fromA.Length, pair.B.StdoutLength);
        Assert.Equal(StreamCheck.Digest(fromB), Convert.ToHexString(pair.A.StdoutSha256!));
        Assert.Equal(StreamCheck.Digest(fromA), Convert.ToHexString(pair.B.StdoutSha256!));
    }

    /// <summary>
    /// An echo service on client-b's loopback, offered with `-R 127.0.0.1:PORT`; client-a listens with
    /// `-L PORT`; a connection to client-a's loopback reaches the service through the punched hole.
    /// </summary>
    public static async Task ForwardAsync(Lab lab, AddressFamily family)
    {
        string punchhole = LabFixture.RequirePunchhole();
        const int ServicePort = 7007, LocalPort = 2222;
        using var stop = new CancellationTokenSource();
        using var service = LabSockets.StartEchoServer(lab.ClientB, new IPEndPoint(IPAddress.Loopback, ServicePort), stop.Token);
        using var pair = PunchPair.Start(lab, punchhole, family,
            ["-L", LocalPort.ToString(System.Globalization.CultureInfo.InvariantCulture)],
            ["-R", $"127.0.0.1:{ServicePort}"]);
        Assert.True(await pair.WaitConnectedAsync(ConnectWait) is not null, pair.Describe());

        using (var user = await LabSockets.ConnectRetryingAsync(lab.ClientA, new IPEndPoint(IPAddress.Loopback, LocalPort), LineWait))
        {
            byte[] request = StreamCheck.RandomBytes(1 << 20);
            var echoed = StreamCheck.ReadToEndAsync(user, TransferWait);
            await StreamCheck.SendAllAsync(user, request, TransferWait);
            var (count, digest) = await echoed;
            Assert.Equal(request.Length, count);
            Assert.Equal(StreamCheck.Digest(request), digest);
        }

        var (codeA, codeB, _) = await pair.WaitExitAsync(TimeSpan.FromSeconds(10));
        Assert.True(codeA == 0 && codeB == 0, pair.Describe());
        await stop.CancelAsync();
    }

    /// <summary>A few punches in a row, each with a line each way and a clean exit.</summary>
    public static async Task PunchesInARowAsync(Lab lab, AddressFamily family, int count)
    {
        string punchhole = LabFixture.RequirePunchhole();
        for (int i = 1; i <= count; i++)
        {
            var result = await PunchTrial.ConnectAsync(lab, punchhole, family);
            Assert.True(result.Ok, $"punch {i} of {count}: {result.Detail}");
        }
    }

    /// <summary>Writes <paramref name="line"/> to one client and waits until the other has printed it.</summary>
    public static async Task SayAsync(LabProcess from, LabProcess to, string line)
    {
        string before = to.StdoutText;
        await from.WriteAsync(line);
        Assert.True(await to.WaitForStdoutAsync(before + line, LineWait), $"'{line.TrimEnd()}' did not arrive\n{from.Describe()}\n{to.Describe()}");
    }
}
