using System.Buffers;
using System.Diagnostics;
using System.Net.Sockets;
using System.Security.Cryptography;
using Punchhole.Secure;
using Punchhole.Secure.Records;
using Punchhole.Tests.Support;

namespace Punchhole.Tests.Secure;

/// <summary>The encrypted record stream over real sockets, with a relay that tampers with it.</summary>
public class RecordTests
{
    private const int Records = 10;
    private const int RecordSize = 1000;

    /// <summary>
    /// 256 MiB in the suite; scripts/secure-transfer.sh sets PUNCHHOLE_TRANSFER_MIB=1024 for the 1 GiB run.
    /// </summary>
    internal static long TransferBytes =>
        (long.TryParse(Environment.GetEnvironmentVariable("PUNCHHOLE_TRANSFER_MIB"), out long mib) && mib > 0 ? mib : 256) * 1024 * 1024;

    [Fact(Timeout = 300_000)]
    public async Task A_large_transfer_arrives_intact()
    {
        long total = TransferBytes;
        using var pair = await LoopbackPair.ConnectAsync();
        var (key, _) = Keys();
        await using var sender = RecordEnd.Over(pair.A, key, Keys().Receive);
        await using var receiver = RecordEnd.Over(pair.B, Keys().Send, key);
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        var send = Task.Run(async () =>
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var random = new Random(256);
            byte[] chunk = new byte[1024 * 1024];
            for (long sent = 0; sent < total; sent += chunk.Length)
            {
                random.NextBytes(chunk.AsSpan(0, 4096));
                hash.AppendData(chunk);
                await sender.Writer.WriteAsync(chunk);
            }
            await sender.Writer.CompleteAsync();
            return Convert.ToHexString(hash.GetHashAndReset());
        });
        var receive = Task.Run(async () =>
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            long count = 0;
            while (true)
            {
                var record = await receiver.Reader.ReadAsync();
                hash.AppendData(record.Plaintext.Span);
                count += record.Plaintext.Length;
                if (record.Final)
                {
                    return (count, Convert.ToHexString(hash.GetHashAndReset()));
                }
            }
        });
        string sentDigest = await send;
        var (received, receivedDigest) = await receive;
        Assert.Equal(total, received);
        Assert.Equal(sentDigest, receivedDigest);
        // CPU time (both ends, SHA-256 of both included) says more than wall time on a loaded machine.
        cpu = Process.GetCurrentProcess().TotalProcessorTime - cpu;
        Console.WriteLine($"records: {total >> 20} MiB in {clock.Elapsed.TotalSeconds:0.00} s ({total / clock.Elapsed.TotalSeconds / 1e6:0} MB/s), {cpu.TotalSeconds:0.00} s CPU");
    }

    [Fact(Timeout = 30_000)]
    public async Task A_flipped_byte_fails_the_record_and_nothing_from_it_on_is_delivered()
    {
        var delivered = await RelayAsync((i, record) => i == 3 ? [Flip(record, record.Length - 20)] : [record]);
        Assert.Equal(3, delivered.Records.Count);
        Assert.Equal(SecureFailure.Tampered, delivered.Error?.Reason);
    }

    [Fact(Timeout = 30_000)]
    public async Task An_altered_length_field_fails_the_record()
    {
        var shorter = await RelayAsync((i, record) => i == 2 ? [Flip(record, 3)] : [record]);
        Assert.Equal(2, shorter.Records.Count);
        Assert.Equal(SecureFailure.Tampered, shorter.Error?.Reason);
        var huge = await RelayAsync((i, record) => i == 2 ? [Flip(record, 1)] : [record]);
        Assert.Equal(2, huge.Records.Count);
        Assert.Equal(SecureFailure.Tampered, huge.Error?.Reason);
    }

    [Fact(Timeout = 30_000)]
    public async Task Reordered_records_fail()
    {
        byte[]? held = null;
        var delivered = await RelayAsync((i, record) =>
        {
            if (i == 2)
            {
                held = record;
                return [];
            }
            return i == 3 ? [record, held!] : [record];
        });
        Assert.Equal(2, delivered.Records.Count);
        Assert.Equal(SecureFailure.Tampered, delivered.Error?.Reason);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_replayed_record_fails()
    {
        var delivered = await RelayAsync((i, record) => i == 2 ? [record, record] : [record]);
        Assert.Equal(3, delivered.Records.Count);
        Assert.Equal(SecureFailure.Tampered, delivered.Error?.Reason);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_record_dropped_from_the_middle_fails_the_next()
    {
        var delivered = await RelayAsync((i, record) => i == 4 ? [] : [record]);
        Assert.Equal(4, delivered.Records.Count);
        Assert.Equal(SecureFailure.Tampered, delivered.Error?.Reason);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_FIN_injected_mid_stream_is_an_early_end()
    {
        var delivered = await RelayAsync((i, record) => i == 5 ? null : [record]);
        Assert.Equal(5, delivered.Records.Count);
        Assert.IsType<TransferEndedEarlyException>(delivered.Error);
        Assert.Equal("the transfer ended early", delivered.Error!.Message);
    }

    [Fact(Timeout = 30_000)]
    public async Task Every_record_but_the_final_one_is_still_an_early_end()
    {
        var delivered = await RelayAsync((i, record) => i == Records ? null : [record]);
        Assert.Equal(Records, delivered.Records.Count);
        Assert.IsType<TransferEndedEarlyException>(delivered.Error);
    }

    [Fact]
    public void Bytes_after_the_final_record_are_refused()
    {
        var (key, _) = Keys();
        var wire = new ArrayBufferWriter<byte>();
        using (var sealer = new RecordSealer(key))
        {
            sealer.Seal("last words"u8, final: true, wire);
            Assert.Throws<InvalidOperationException>(() => sealer.Seal("more"u8, final: false, wire));
        }
        wire.Write("junk"u8);
        using var opener = new RecordOpener(key);
        var buffer = new ReadOnlySequence<byte>(wire.WrittenMemory);
        Assert.True(opener.TryOpen(ref buffer, out var plaintext, out bool final));
        Assert.True(final);
        Assert.Equal("last words"u8.ToArray(), plaintext.ToArray());
        var error = Assert.Throws<SecureChannelException>(() => opener.TryOpen(ref buffer, out _, out _));
        Assert.Equal(SecureFailure.ProtocolViolation, error.Reason);
    }

    [Fact]
    public void The_wire_format_is_chacha20poly1305_with_counter_nonces_and_the_header_as_associated_data()
    {
        // Two records sealed by the layer, opened by an independent implementation (.NET's own
        // ChaCha20-Poly1305, over OpenSSL) with the nonces and associated data the format states.
        var (key, _) = Keys();
        var wire = new ArrayBufferWriter<byte>();
        using (var sealer = new RecordSealer(key))
        {
            sealer.Seal("first"u8, final: false, wire);
            sealer.Seal("second"u8, final: true, wire);
        }
        byte[] bytes = wire.WrittenSpan.ToArray();
        int second = RecordFormat.RecordLength(5);
        Assert.Equal(second + RecordFormat.RecordLength(6), bytes.Length);
        Assert.Equal(new byte[] { 0, 0, 0, 5 }, bytes[..4]);
        Assert.Equal(new byte[] { 0x80, 0, 0, 6 }, bytes[second..(second + 4)]);

        Assert.True(System.Security.Cryptography.ChaCha20Poly1305.IsSupported);
        using var reference = new System.Security.Cryptography.ChaCha20Poly1305(key);
        byte[] nonce = new byte[12];
        byte[] first = new byte[5];
        reference.Decrypt(nonce, bytes[4..9], bytes[9..25], first, bytes[..4]);
        Assert.Equal("first"u8.ToArray(), first);
        nonce[11] = 1;
        byte[] last = new byte[6];
        Assert.ThrowsAny<CryptographicException>(() => reference.Decrypt(nonce, bytes[(second + 4)..(second + 10)], bytes[(second + 10)..], last, new byte[] { 0, 0, 0, 6 }));
        reference.Decrypt(nonce, bytes[(second + 4)..(second + 10)], bytes[(second + 10)..], last, bytes[second..(second + 4)]);
        Assert.Equal("second"u8.ToArray(), last);
        byte[] formatNonce = new byte[12];
        RecordFormat.Nonce(1, formatNonce);
        Assert.Equal(nonce, formatNonce);
    }

    [Fact]
    public void The_fuzz_corpus_sealed_by_a_C_program_opens()
    {
        // fuzz/corpus/secure-records was written by a few lines of C calling libsodium's AEAD with
        // the format's header, nonce and key 00..1f: the seeds are real records.
        byte[] key = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray();
        byte[] wire = File.ReadAllBytes(Path.Combine(RepositoryPaths.Root, "fuzz", "corpus", "secure-records", "records-and-final"));
        using var opener = new RecordOpener(key);
        var buffer = new ReadOnlySequence<byte>(wire);
        var opened = new List<string>();
        bool final = false;
        while (!final)
        {
            Assert.True(opener.TryOpen(ref buffer, out var plaintext, out final));
            opened.Add(System.Text.Encoding.ASCII.GetString(plaintext.Span));
        }
        Assert.Equal(["first record", "second record, a bit longer", "the end"], opened);
        Assert.True(buffer.IsEmpty);
    }

    [Fact]
    public void A_final_flag_added_or_removed_fails_the_record()
    {
        var (key, _) = Keys();
        foreach (bool sealedFinal in new[] { false, true })
        {
            var wire = new ArrayBufferWriter<byte>();
            using (var sealer = new RecordSealer(key))
            {
                sealer.Seal("data"u8, sealedFinal, wire);
            }
            byte[] bytes = wire.WrittenSpan.ToArray();
            bytes[0] ^= 0x80;
            using var opener = new RecordOpener(key);
            var buffer = new ReadOnlySequence<byte>(bytes);
            var error = Assert.Throws<SecureChannelException>(() => opener.TryOpen(ref buffer, out _, out _));
            Assert.Equal(SecureFailure.Tampered, error.Reason);
        }
    }

    [Fact]
    public void A_record_split_across_buffer_segments_opens()
    {
        var (key, _) = Keys();
        var wire = new ArrayBufferWriter<byte>();
        byte[] payload = RandomNumberGenerator.GetBytes(RecordFormat.MaxPlaintextLength);
        using (var sealer = new RecordSealer(key))
        {
            sealer.Seal(payload, final: false, wire);
            sealer.Seal(payload.AsSpan(0, 100), final: true, wire);
        }
        byte[] bytes = wire.WrittenSpan.ToArray();
        foreach (int cut in new[] { 1, 3, 4, 5000, RecordFormat.MaxRecordLength - 1, RecordFormat.MaxRecordLength + 7 })
        {
            using var opener = new RecordOpener(key);
            var buffer = Segments.Of(bytes.AsSpan(0, cut).ToArray(), bytes.AsSpan(cut).ToArray());
            Assert.True(opener.TryOpen(ref buffer, out var first, out bool final));
            Assert.False(final);
            Assert.Equal(payload, first.ToArray());
            Assert.True(opener.TryOpen(ref buffer, out var last, out final));
            Assert.True(final);
            Assert.Equal(payload.AsSpan(0, 100).ToArray(), last.ToArray());
            Assert.True(buffer.IsEmpty);
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task A_record_sealed_under_another_key_fails()
    {
        using var other = new RecordSealer(Keys().Send);
        var foreign = new ArrayBufferWriter<byte>();
        other.Seal(new byte[RecordSize], final: false, foreign);
        byte[] injected = foreign.WrittenSpan.ToArray();
        var delivered = await RelayAsync((i, record) => i == 1 ? [injected] : [record]);
        Assert.Single(delivered.Records);
        Assert.Equal(SecureFailure.Tampered, delivered.Error?.Reason);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_relay_passing_records_unchanged_delivers_all_and_the_end()
    {
        var delivered = await RelayAsync((_, record) => [record]);
        Assert.Equal(Records + 1, delivered.Records.Count);
        Assert.Null(delivered.Error);
        for (int i = 0; i < Records; i++)
        {
            Assert.Equal(Payload(i), delivered.Records[i]);
        }
        Assert.Empty(delivered.Records[Records]);
    }

    [Theory(Timeout = 30_000)]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Each_direction_ends_on_its_own(bool leftFirst)
    {
        using var pair = await LoopbackPair.ConnectAsync();
        var (ab, ba) = Keys();
        await using var left = RecordEnd.Over(pair.A, ab, ba);
        await using var right = RecordEnd.Over(pair.B, ba, ab);
        var (first, second) = leftFirst ? (left, right) : (right, left);
        byte[] early = RandomNumberGenerator.GetBytes(3 * 1024 * 1024);
        byte[] late = RandomNumberGenerator.GetBytes(3 * 1024 * 1024);

        // The first side sends everything and ends its direction...
        await first.Writer.WriteAsync(early);
        await first.Writer.CompleteAsync();
        Assert.Equal(early, await ReadAllAsync(second.Reader));
        // ...and still receives what the other side sends afterwards.
        await second.Writer.WriteAsync(late);
        await second.Writer.CompleteAsync();
        Assert.Equal(late, await ReadAllAsync(first.Reader));
    }

    private static byte[] Payload(int index) => Enumerable.Range(0, RecordSize).Select(j => (byte)(index * 31 + j)).ToArray();

    /// <summary>A ReadOnlySequence over several arrays, as a pipe hands out.</summary>
    private sealed class Segments : ReadOnlySequenceSegment<byte>
    {
        private Segments(byte[] bytes, long start)
        {
            Memory = bytes;
            RunningIndex = start;
        }

        public static ReadOnlySequence<byte> Of(byte[] first, byte[] second)
        {
            var head = new Segments(first, 0);
            var tail = new Segments(second, first.Length);
            head.Next = tail;
            return new ReadOnlySequence<byte>(head, 0, tail, second.Length);
        }
    }

    private static byte[] Flip(byte[] record, int at)
    {
        byte[] copy = (byte[])record.Clone();
        copy[at] ^= 0x80;
        return copy;
    }

    private static (byte[] Send, byte[] Receive) Keys() =>
        (RandomNumberGenerator.GetBytes(32), RandomNumberGenerator.GetBytes(32));

    private static async Task<byte[]> ReadAllAsync(RecordReader reader)
    {
        var all = new MemoryStream();
        while (true)
        {
            var record = await reader.ReadAsync();
            all.Write(record.Plaintext.Span);
            if (record.Final)
            {
                return all.ToArray();
            }
        }
    }

    private sealed record Delivery(List<byte[]> Records, SecureChannelException? Error);

    /// <summary>Sends ten records and the final one from left to right through a relay applying <paramref name="rule"/>.</summary>
    private static async Task<Delivery> RelayAsync(Relay.RecordRule rule)
    {
        await using var relay = await Relay.StartAsync(leftToRight: rule);
        var (key, unused) = Keys();
        await using var sender = RecordEnd.Over(relay.Left, key, unused);
        await using var receiver = RecordEnd.Over(relay.Right, unused, key);
        for (int i = 0; i < Records; i++)
        {
            sender.Writer.Write(Payload(i));
        }
        await sender.Writer.CompleteAsync();
        sender.Socket.Shutdown(SocketShutdown.Send);

        var records = new List<byte[]>();
        try
        {
            while (true)
            {
                var record = await receiver.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
                records.Add(record.Plaintext.ToArray());
                if (record.Final)
                {
                    return new Delivery(records, null);
                }
            }
        }
        catch (SecureChannelException e)
        {
            return new Delivery(records, e);
        }
    }

    /// <summary>One side of a record stream over a socket, without a handshake: the keys are given.</summary>
    private sealed class RecordEnd : IAsyncDisposable
    {
        private RecordEnd(Socket socket, byte[] sendKey, byte[] receiveKey)
        {
            Socket = socket;
            Transport = Punchhole.Secure.Transport.Over(new NetworkStream(socket, ownsSocket: false));
            Writer = new RecordWriter(Transport.Output, sendKey);
            Reader = new RecordReader(Transport.Input, receiveKey);
        }

        public Socket Socket { get; }

        public Punchhole.Secure.Transport Transport { get; }

        public RecordWriter Writer { get; }

        public RecordReader Reader { get; }

        public static RecordEnd Over(Socket socket, byte[] sendKey, byte[] receiveKey) => new(socket, sendKey, receiveKey);

        public async ValueTask DisposeAsync()
        {
            Writer.Dispose();
            Reader.Dispose();
            await Transport.DisposeAsync();
        }
    }
}
