using System.Diagnostics;
using System.Text;
using Punchhole.Secure;
using Punchhole.Secure.Handshake;
using Punchhole.Secure.Mux;

namespace Punchhole.Tests.Secure;

/// <summary>Many streams over one secure session on real loopback sockets.</summary>
public class MuxTests
{
    private const long SixteenMiB = 16L * 1024 * 1024;
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    [Fact(Timeout = 60_000)]
    public async Task A_write_that_ends_the_stream_reaches_the_reader_together_with_the_end()
    {
        await using var pair = await SessionPair.ConnectAsync();
        byte[] buffer = new byte[256 * 1024];
        for (int round = 0; round < 20; round++)
        {
            var stream = pair.A.OpenStream();
            var peer = (await pair.B.AcceptStreamAsync())!;
            await stream.WriteAsync(new byte[113_152]);
            await stream.WriteAsync(new byte[36_849], complete: true);
            long received = 0;
            while (received < 150_001)
            {
                int n = await peer.ReadAsync(buffer).AsTask().WaitAsync(Wait);
                Assert.True(n > 0);
                received += n;
            }
            Assert.True(peer.EndIsNext, $"round {round}: the last bytes came without the end");
            Assert.Equal(0, await peer.ReadAsync(buffer));
            peer.CompleteWrites();
            stream.Dispose();
            peer.Dispose();
        }
    }

    [Fact(Timeout = 120_000)]
    public async Task Eight_parallel_streams_of_16_MiB_each_way_arrive_intact_and_the_session_ends_cleanly()
    {
        await using var pair = await SessionPair.ConnectAsync();
        var opened = Enumerable.Range(0, 8).Select(_ => pair.A.OpenStream()).ToArray();
        var clientSide = opened.Select((stream, i) => Task.Run(async () =>
        {
            var send = SessionPair.SendAsync(stream, SixteenMiB, seed: i);
            var receive = SessionPair.ReceiveAsync(stream);
            string sent = await send;
            var (count, digest) = await receive;
            await stream.DisposeAsync();
            return (sent, count, digest);
        })).ToArray();
        var serverSide = Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            var stream = (await pair.B.AcceptStreamAsync())!;
            int seed = 1000 + (int)stream.Id;
            var send = SessionPair.SendAsync(stream, SixteenMiB, seed);
            var receive = SessionPair.ReceiveAsync(stream);
            string sent = await send;
            var (count, digest) = await receive;
            await stream.DisposeAsync();
            return (stream.Id, sent, count, digest);
        })).ToArray();

        var client = await Task.WhenAll(clientSide).WaitAsync(Wait);
        var server = await Task.WhenAll(serverSide).WaitAsync(Wait);
        for (int i = 0; i < 8; i++)
        {
            var accepted = server.Single(s => s.Id == opened[i].Id);
            Assert.Equal(SixteenMiB, accepted.count);
            Assert.Equal(client[i].sent, accepted.digest);
            Assert.Equal(SixteenMiB, client[i].count);
            Assert.Equal(accepted.sent, client[i].digest);
        }

        var closeA = pair.A.CloseAsync();
        Assert.Null(await pair.B.AcceptStreamAsync().AsTask().WaitAsync(Wait));
        await pair.B.CloseAsync().WaitAsync(Wait);
        await closeA.WaitAsync(Wait);
        Assert.True(pair.A.Completion.IsCompletedSuccessfully);
        Assert.True(pair.B.Completion.IsCompletedSuccessfully);
    }

    [Fact(Timeout = 300_000)]
    public async Task A_large_transfer_over_one_stream_arrives_intact()
    {
        long total = RecordTests.TransferBytes;
        await using var pair = await SessionPair.ConnectAsync();
        var stream = pair.A.OpenStream();
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        var send = Task.Run(() => SessionPair.SendAsync(stream, total, seed: 42));
        var there = (await pair.B.AcceptStreamAsync())!;
        there.CompleteWrites();
        var (count, digest) = await SessionPair.ReceiveAsync(there);
        Assert.Equal(total, count);
        Assert.Equal(await send, digest);
        // CPU time (both ends, SHA-256 of both included) says more than wall time on a loaded machine.
        cpu = Process.GetCurrentProcess().TotalProcessorTime - cpu;
        Console.WriteLine($"mux stream: {total >> 20} MiB in {clock.Elapsed.TotalSeconds:0.00} s ({total / clock.Elapsed.TotalSeconds / 1e6:0} MB/s), {cpu.TotalSeconds:0.00} s CPU");
        Assert.Equal(0, await stream.ReadAsync(new byte[1]));
    }

    [Fact(Timeout = 120_000)]
    public async Task A_stream_whose_reader_stalls_does_not_stop_the_others_and_holds_one_window_at_most()
    {
        await using var pair = await SessionPair.ConnectAsync();
        var stalled = pair.A.OpenStream();
        var others = Enumerable.Range(0, 4).Select(_ => pair.A.OpenStream()).ToArray();
        var accepted = new List<MuxStream>();
        for (int i = 0; i < 5; i++)
        {
            accepted.Add((await pair.B.AcceptStreamAsync().AsTask().WaitAsync(Wait))!);
        }
        var stalledThere = accepted.Single(s => s.Id == stalled.Id);

        // Four times the window into a stream nobody reads: the writer must be held back.
        long stalledLength = 4 * MuxSession.InitialWindow;
        var stalledSend = Task.Run(() => SessionPair.SendAsync(stalled, stalledLength, seed: 7));

        var clock = Stopwatch.StartNew();
        var transfers = others.Select((stream, i) => Task.Run(async () =>
        {
            var there = accepted.Single(s => s.Id == stream.Id);
            var receive = SessionPair.ReceiveAsync(there);
            string sent = await SessionPair.SendAsync(stream, SixteenMiB, seed: i);
            var (count, digest) = await receive;
            return (sent, count, digest);
        })).ToArray();
        foreach (var (sent, count, digest) in await Task.WhenAll(transfers).WaitAsync(Wait))
        {
            Assert.Equal(SixteenMiB, count);
            Assert.Equal(sent, digest);
        }
        Assert.False(stalledSend.IsCompleted, "the writer of the stalled stream was not held back by its window");

        // Once read, the stalled stream delivers everything.
        var (stalledCount, stalledDigest) = await SessionPair.ReceiveAsync(stalledThere).WaitAsync(Wait);
        Assert.Equal(stalledLength, stalledCount);
        Assert.Equal(await stalledSend.WaitAsync(Wait), stalledDigest);
    }

    [Fact(Timeout = 60_000)]
    public async Task Each_stream_half_closes_on_its_own()
    {
        await using var pair = await SessionPair.ConnectAsync();
        var request = pair.A.OpenStream();
        await request.WriteAsync("GET / please"u8.ToArray());
        request.CompleteWrites();
        var there = (await pair.B.AcceptStreamAsync())!;
        Assert.Equal("GET / please", await ReadTextAsync(there));
        // The other direction still works after the first one ended.
        await there.WriteAsync("here you are"u8.ToArray());
        there.CompleteWrites();
        Assert.Equal("here you are", await ReadTextAsync(request));
        await Assert.ThrowsAsync<InvalidOperationException>(() => request.WriteAsync(new byte[1]).AsTask());
    }

    [Fact(Timeout = 60_000)]
    public async Task Both_sides_open_streams_at_once_with_ids_of_their_own_parity()
    {
        await using var pair = await SessionPair.ConnectAsync();
        var fromA = Enumerable.Range(0, 3).Select(_ => pair.A.OpenStream()).ToArray();
        var fromB = Enumerable.Range(0, 3).Select(_ => pair.B.OpenStream()).ToArray();
        uint parityA = pair.A.Role == HandshakeRole.First ? 1u : 0u;
        Assert.All(fromA, s => Assert.Equal(parityA, s.Id & 1));
        Assert.All(fromB, s => Assert.Equal(1 - parityA, s.Id & 1));
        for (int i = 0; i < 3; i++)
        {
            var atB = (await pair.B.AcceptStreamAsync())!;
            var atA = (await pair.A.AcceptStreamAsync())!;
            Assert.Equal(fromA[i].Id, atB.Id);
            Assert.Equal(fromB[i].Id, atA.Id);
            await fromA[i].WriteAsync(Encoding.ASCII.GetBytes($"a{i}"));
            fromA[i].CompleteWrites();
            await fromB[i].WriteAsync(Encoding.ASCII.GetBytes($"b{i}"));
            fromB[i].CompleteWrites();
            Assert.Equal($"a{i}", await ReadTextAsync(atB));
            Assert.Equal($"b{i}", await ReadTextAsync(atA));
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task A_reset_stream_fails_on_the_other_side_and_the_session_goes_on()
    {
        await using var pair = await SessionPair.ConnectAsync();
        var doomed = pair.A.OpenStream();
        await doomed.WriteAsync(new byte[1000]);
        var there = (await pair.B.AcceptStreamAsync())!;
        Assert.Equal(1000, await ReadExactlyAsync(there, 1000));
        doomed.Reset();
        var error = await Assert.ThrowsAsync<SecureChannelException>(() => there.ReadAsync(new byte[10]).AsTask().WaitAsync(Wait));
        Assert.Equal(SecureFailure.StreamReset, error.Reason);
        await Assert.ThrowsAsync<SecureChannelException>(() => there.WriteAsync(new byte[10]).AsTask());

        var next = pair.A.OpenStream();
        await next.WriteAsync("still here"u8.ToArray());
        next.CompleteWrites();
        Assert.Equal("still here", await ReadTextAsync((await pair.B.AcceptStreamAsync())!));
    }

    [Fact(Timeout = 60_000)]
    public async Task An_abort_reaches_the_other_side_as_an_authenticated_stop()
    {
        await using var pair = await SessionPair.ConnectAsync();
        var stream = pair.A.OpenStream();
        await stream.WriteAsync(new byte[5000]);
        var there = (await pair.B.AcceptStreamAsync())!;
        Assert.Equal(5000, await ReadExactlyAsync(there, 5000));
        await pair.A.AbortAsync().WaitAsync(Wait);
        var error = await Assert.ThrowsAsync<SecureChannelException>(() => there.ReadAsync(new byte[10]).AsTask().WaitAsync(Wait));
        Assert.Equal(SecureFailure.PeerAborted, error.Reason);
        var ended = await Assert.ThrowsAsync<SecureChannelException>(() => pair.B.Completion.WaitAsync(Wait));
        Assert.Equal(SecureFailure.PeerAborted, ended.Reason);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_connection_cut_mid_transfer_is_an_early_end_after_the_bytes_that_arrived()
    {
        await using var pair = await SessionPair.ConnectAsync();
        var stream = pair.A.OpenStream();
        await stream.WriteAsync(new byte[100_000]);
        var there = (await pair.B.AcceptStreamAsync())!;
        Assert.Equal(100_000, await ReadExactlyAsync(there, 100_000));
        // A vanishes without its final record, as a killed process would.
        await pair.A.DisposeAsync();
        var error = await Assert.ThrowsAsync<TransferEndedEarlyException>(() => there.ReadAsync(new byte[10]).AsTask().WaitAsync(Wait));
        Assert.StartsWith("the transfer ended early", error.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<TransferEndedEarlyException>(() => pair.B.Completion.WaitAsync(Wait));
    }

    [Fact(Timeout = 60_000)]
    public async Task A_flipped_byte_fails_the_stream_after_the_authentic_bytes_and_the_wire_never_shows_the_plaintext()
    {
        // The cipher signals (AES-256-GCM where the CPU has it) come first; the pair waits for them.
        int signals = SessionPair.SignalRecords;
        int flippedRecord = signals + 3;
        await using var relay = await Relay.StartAsync(
            leftToRight: (i, record) => i == flippedRecord ? [Flip(record)] : [record],
            skip: Relay.HandshakeBytes,
            capture: true);
        await using var pair = await SessionPair.ConnectAsync(relay.Left, relay.Right);
        var stream = pair.A.OpenStream();
        var there = (await pair.B.AcceptStreamAsync().AsTask().WaitAsync(Wait))!;
        Assert.True(await EventuallyAsync(() => relay.RecordsFromLeft == signals + 1), "the OPEN record did not pass");
        byte[] marker = Encoding.ASCII.GetBytes("THE PLAINTEXT MARKER ");
        // One record per write: each write waits for the previous record to pass the relay. The
        // receiver closes on the altered record, so the writer sees the session end.
        var writes = Task.Run(async () =>
        {
            for (int i = 0; i < 6; i++)
            {
                await stream.WriteAsync(marker);
                if (!await EventuallyAsync(() => relay.RecordsFromLeft == signals + 2 + i))
                {
                    return;
                }
            }
        });
        var received = new MemoryStream();
        var buffer = new byte[1024];
        var error = await Assert.ThrowsAsync<SecureChannelException>(async () =>
        {
            int n;
            while ((n = await there.ReadAsync(buffer).AsTask().WaitAsync(Wait)) > 0)
            {
                received.Write(buffer, 0, n);
            }
        });
        Assert.Equal(SecureFailure.Tampered, error.Reason);
        await Assert.ThrowsAsync<TransferEndedEarlyException>(() => writes.WaitAsync(Wait));
        // The first record after the signals carried OPEN, each later record one write: the ones before the altered record arrived.
        Assert.Equal((flippedRecord - signals - 1) * marker.Length, received.Length);
        Assert.DoesNotContain("PLAINTEXT MARKER", Encoding.Latin1.GetString(relay.CapturedFromLeft), StringComparison.Ordinal);
    }

    private static async Task<bool> EventuallyAsync(Func<bool> condition)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(10))
            {
                return false;
            }
            await Task.Delay(5);
        }
        return true;
    }

    private static byte[] Flip(byte[] record)
    {
        byte[] copy = (byte[])record.Clone();
        copy[^1] ^= 0x01;
        return copy;
    }

    private static async Task<string> ReadTextAsync(Stream stream)
    {
        var all = new MemoryStream();
        await stream.CopyToAsync(all).WaitAsync(Wait);
        return Encoding.ASCII.GetString(all.ToArray());
    }

    private static async Task<int> ReadExactlyAsync(Stream stream, int count)
    {
        await stream.ReadExactlyAsync(new byte[count]).AsTask().WaitAsync(Wait);
        return count;
    }
}
