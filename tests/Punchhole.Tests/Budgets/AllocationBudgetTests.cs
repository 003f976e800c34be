using System.Net;
using System.Text;
using Punchhole.Benchmarks.InMemory;
using Punchhole.Protocol;
using Punchhole.Server;

namespace Punchhole.Tests.Budgets;

/// <summary>
/// The allocation budget of the protocol hot path is zero bytes, and these tests hold it there:
/// each runs one step of the path many times after as many warm-up runs (JIT tiers, lazy
/// statics) and fails if the thread allocated a single byte meanwhile. They count with
/// GC.GetAllocatedBytesForCurrentThread, which other tests running in parallel cannot disturb.
/// The benchmarks (bench/) show the same steps with MemoryDiagnoser; these keep CI honest.
/// </summary>
public class AllocationBudgetTests
{
    private const int Iterations = 20_000;
    private const int Keys = 1024;

    private static readonly byte[] s_wireKeys = MakeWireKeys();

    // Somewhere for the self-check's allocations to escape to, so the JIT cannot put them on the stack.
    private static object? s_sink;

    private static byte[] MakeWireKeys()
    {
        var keys = new byte[Keys * TStun.KeyLength];
        new Random(5).NextBytes(keys);
        return keys;
    }

    private static ReadOnlySpan<byte> WireKey(int i) => s_wireKeys.AsSpan(i % Keys * TStun.KeyLength, TStun.KeyLength);

    /// <summary>Bytes this thread allocated over <see cref="Iterations"/> steps, after as many warm-up steps.</summary>
    private static long AllocatedBy(Action<int> step)
    {
        for (int i = 0; i < Iterations; i++)
        {
            step(i);
        }
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < Iterations; i++)
        {
            step(i);
        }
        return GC.GetAllocatedBytesForCurrentThread() - before;
    }

    /// <summary>Asserts inside a measured step without allocating: xunit's asserts may allocate even when they pass.</summary>
    private static void Check(bool condition, string what)
    {
        if (!condition)
        {
            throw new InvalidOperationException($"broken: {what}");
        }
    }

    /// <summary>Measures on one pool thread (the counter is per thread), bounded by the test's timeout.</summary>
    /// <remarks>
    /// The least of three windows counts: an allocation made once by the runtime on this thread (a
    /// lazy initialisation, say) can land in one window, as 0.33 B a run did in a full-suite run,
    /// whereas an allocation made by the step itself lands in every window, at least a whole object per run.
    /// </remarks>
    private static async Task AssertAllocatesNothing(string what, Action<int> step)
    {
        long allocated = long.MaxValue;
        for (int window = 0; window < 3 && allocated != 0; window++)
        {
            allocated = Math.Min(allocated, await Task.Run(() => AllocatedBy(step)));
        }
        Assert.True(allocated == 0,
            $"{what} allocated {allocated} B in {Iterations} runs ({allocated / (double)Iterations:0.##} B each); its budget is 0 B.");
    }

    [Fact(Timeout = 20_000)]
    public async Task The_counter_sees_an_allocation_so_the_budgets_can_fail()
    {
        long allocated = await Task.Run(() => AllocatedBy(static _ => s_sink = new byte[8]));
        Assert.True(allocated >= Iterations * 8L, $"only {allocated} B counted for {Iterations} arrays");
    }

    [Fact(Timeout = 20_000)]
    public async Task Parsing_a_key_from_a_span_allocates_nothing()
    {
        long sum = 0;
        await AssertAllocatesNothing("SessionKey.Read", i => sum += SessionKey.Read(WireKey(i)).GetHashCode());
    }

    [Fact(Timeout = 20_000)]
    public async Task Hashing_and_comparing_keys_allocates_nothing()
    {
        var hasher = KeyHasher.CreateRandom();
        long sum = 0;
        await AssertAllocatesNothing("key hash and equality", i =>
        {
            var key = SessionKey.Read(WireKey(i));
            var same = SessionKey.Read(WireKey(i));
            var other = SessionKey.Read(WireKey(i + 1));
            sum += key.GetHashCode() + (long)key.Hash64(hasher) + (key == same ? 1 : 0) + (key.Equals(other) ? 1 : 0);
        });
    }

    [Fact(Timeout = 20_000)]
    public async Task Pair_or_wait_and_the_handoff_allocate_nothing()
    {
        var table = new PairingTable(Keys, KeyHasher.CreateRandom());
        var first = new InMemoryParty(new PeerAddress(0, 0xFFFF_C633_6414UL, 35943));
        var second = new InMemoryParty(new PeerAddress(0x2001_0db8_0000_0000UL, 7, 40001));
        await AssertAllocatesNothing("PairingTable.PairOrWait and the pooled handoff", i =>
        {
            var key = SessionKey.Read(WireKey(i));
            first.Arrive(key);
            Check(table.PairOrWait(first, out _) == PairingResult.Waiting, "the first client waits");
            first.Wait();
            second.Arrive(key);
            Check(table.PairOrWait(second, out var found) == PairingResult.Paired, "the second client pairs");
            found!.Signal(PairOutcome.PairedWith(second.Address));
            Check(first.WaitEnded && first.Outcome.Partner == second.Address, "the waiter learns the second client's address");
        });
    }

    [Theory(Timeout = 20_000)]
    [InlineData("198.51.100.20", 35943)]
    [InlineData("::ffff:198.51.100.20", 35943)]
    [InlineData("2001:db8::7", 40001)]
    [InlineData("2001:db8:1234:5678:9abc:def0:1234:5678", 65535)]
    public async Task Formatting_and_parsing_a_reply_allocate_nothing(string address, int port)
    {
        var peer = PeerAddress.FromEndPoint(new IPEndPoint(IPAddress.Parse(address), port));
        var buffer = new byte[TStun.MaxReplyLength];
        await AssertAllocatesNothing($"the reply for {address}", _ =>
        {
            int length = PeerReply.Format(peer, buffer);
            Check(PeerReply.TryParse(buffer.AsSpan(0, length), out var parsed) && parsed == peer, "the reply parses back");
        });
        Assert.StartsWith(address.Replace("::ffff:", "", StringComparison.Ordinal) + " ",
            Encoding.ASCII.GetString(buffer, 0, PeerReply.Format(peer, buffer)), StringComparison.Ordinal);
    }

    [Fact(Timeout = 20_000)]
    public async Task The_whole_pairing_pipeline_allocates_nothing()
    {
        var rendezvous = new InMemoryRendezvous(Keys);
        var first = new InMemoryParty(new PeerAddress(0, 0xFFFF_C633_6414UL, 35943));
        var second = new InMemoryParty(new PeerAddress(0x2001_0db8_0000_0000UL, 7, 40001));
        var firstReply = new byte[TStun.MaxReplyLength];
        var secondReply = new byte[TStun.MaxReplyLength];
        await AssertAllocatesNothing("key parse, pair or wait, handoff and both replies", i =>
        {
            Check(rendezvous.Arrive(first, WireKey(i), firstReply, secondReply) == 0, "the first client waits");
            int length = rendezvous.Arrive(second, WireKey(i), secondReply, firstReply);
            Check(PeerReply.TryParse(secondReply.AsSpan(0, length), out var told) && told == first.Address, "the second client is told the first's address");
        });
    }

    [SkippableTheory(Timeout = 20_000)]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Sealing_and_opening_a_record_allocate_nothing(bool aesGcm)
    {
        Skip.If(aesGcm && !Punchhole.Secure.Sodium.Aes256Gcm.IsAvailable, "this CPU has no AES-NI");
        var suite = aesGcm ? Punchhole.Secure.Records.CipherSuite.Aes256Gcm : Punchhole.Secure.Records.CipherSuite.ChaCha20Poly1305;
        byte[] key = new byte[Punchhole.Secure.Sodium.Aead.KeyLength];
        new Random(7).NextBytes(key);
        using var sealer = new Punchhole.Secure.Records.RecordSealer(key);
        using var opener = new Punchhole.Secure.Records.RecordOpener(key);
        if (aesGcm)
        {
            sealer.Switch(suite, key);
            opener.Switch(suite, key);
        }
        var wire = new System.Buffers.ArrayBufferWriter<byte>(4096);
        byte[] payload = new byte[1024];
        await AssertAllocatesNothing("RecordSealer.Seal and RecordOpener.TryOpen", i =>
        {
            payload[0] = (byte)i;
            wire.ResetWrittenCount();
            sealer.Seal(payload, final: false, wire);
            var buffer = new System.Buffers.ReadOnlySequence<byte>(wire.WrittenMemory);
            Check(opener.TryOpen(ref buffer, out var plaintext, out bool final) && plaintext.Length == payload.Length && !final && plaintext.Span[0] == (byte)i,
                "the record opens to what was sealed");
            Check(buffer.IsEmpty, "the whole record was used");
        });
    }
}
