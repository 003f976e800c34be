using System.Buffers.Binary;
using System.Diagnostics;
using Punchhole.Secure;
using Punchhole.Secure.Records;
using Punchhole.Secure.Sodium;

namespace Punchhole.Tests.Secure;

/// <summary>
/// The record layer's move from ChaCha20-Poly1305 to AES-256-GCM: only when both sides offer it,
/// through authenticated signals that nobody in between can strip.
/// </summary>
public class CipherNegotiationTests
{
    private const long EightMiB = 8L * 1024 * 1024;
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [SkippableFact(Timeout = 60_000)]
    public async Task Two_sides_offering_AES_GCM_switch_both_directions_and_data_arrives_intact_both_ways()
    {
        Skip.IfNot(Aes256Gcm.IsAvailable, "this CPU has no AES-NI and PCLMULQDQ");
        // The pair waits until both directions use AES-256-GCM, and fails if they do not.
        await using var pair = await SessionPair.ConnectAsync(offerA: true, offerB: true);
        await ExchangeAndCloseAsync(pair);
        Assert.Equal(
            (CipherSuite.Aes256Gcm, CipherSuite.Aes256Gcm, CipherSuite.Aes256Gcm, CipherSuite.Aes256Gcm),
            (pair.A.SendSuite, pair.A.ReceiveSuite, pair.B.SendSuite, pair.B.ReceiveSuite));
    }

    [Theory(Timeout = 60_000)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(false, false)]
    public async Task When_either_side_does_not_offer_AES_GCM_both_directions_keep_ChaCha20_Poly1305(bool offerA, bool offerB)
    {
        await using var pair = await SessionPair.ConnectAsync(offerA && Aes256Gcm.IsAvailable, offerB && Aes256Gcm.IsAvailable);
        await ExchangeAndCloseAsync(pair);
        Assert.Equal(
            (CipherSuite.ChaCha20Poly1305, CipherSuite.ChaCha20Poly1305, CipherSuite.ChaCha20Poly1305, CipherSuite.ChaCha20Poly1305),
            (pair.A.SendSuite, pair.A.ReceiveSuite, pair.B.SendSuite, pair.B.ReceiveSuite));
    }

    /// <summary>
    /// A party in between drops one of the left side's signals (0: its offer, 1: its switch) to keep
    /// the connection on ChaCha20-Poly1305, or to make the two sides disagree. The record after the
    /// gap fails authentication: the session ends, and nothing of the stream is delivered.
    /// </summary>
    [SkippableTheory(Timeout = 60_000)]
    [InlineData(0)]
    [InlineData(1)]
    public async Task Dropping_a_cipher_signal_in_between_fails_the_session_instead_of_downgrading_it(int dropped)
    {
        Skip.IfNot(Aes256Gcm.IsAvailable, "this CPU has no AES-NI and PCLMULQDQ");
        await using var relay = await Relay.StartAsync(leftToRight: (i, record) => i == dropped ? [] : [record], skip: Relay.HandshakeBytes);
        var establishA = SecureSession.EstablishAsync(relay.Left, SessionPair.Code, offerAesGcm: true);
        var establishB = SecureSession.EstablishAsync(relay.Right, SessionPair.Code, offerAesGcm: true);
        await using var a = await establishA;
        await using var b = await establishB;
        // A switches once B's offer arrived (that direction is untouched): its records are then
        // offer, switch, and the stream's, in this order.
        var clock = Stopwatch.StartNew();
        while (a.SendSuite != CipherSuite.Aes256Gcm)
        {
            Assert.True(clock.Elapsed < Wait, "A never switched");
            await Task.Delay(2);
        }
        try
        {
            var stream = a.OpenStream();
            await stream.WriteAsync("not for a downgraded channel"u8.ToArray());
        }
        catch (SecureChannelException)
        {
            // Without the offer, B failed at A's switch already, and closed the connection.
        }
        var error = await Assert.ThrowsAsync<SecureChannelException>(() => b.Completion.WaitAsync(Wait));
        Assert.Equal(SecureFailure.Tampered, error.Reason);
        await Assert.ThrowsAsync<SecureChannelException>(() => b.AcceptStreamAsync().AsTask().WaitAsync(Wait));
    }

    /// <summary>
    /// Data read in one batch with the peer's switch right behind it reaches the stream at once: a
    /// cipher signal ends a batch like any record, so the data does not wait for a later record
    /// (it waited until the sender's next record, in one case 5 s, for the end of a chat).
    /// </summary>
    [SkippableFact(Timeout = 60_000)]
    public async Task Data_read_together_with_the_peers_switch_reaches_the_stream_without_a_later_record()
    {
        Skip.IfNot(Aes256Gcm.IsAvailable, "this CPU has no AES-NI and PCLMULQDQ");
        using var dataHeld = new ManualResetEventSlim();
        var held = new List<byte[]>();
        // Left to right: A's offer passes; A's stream records are held until its switch (an empty
        // record), then all go on in one write, so B reads them and the switch in one batch.
        IEnumerable<byte[]>? LeftToRight(int index, byte[] record)
        {
            if (index == 0)
            {
                return [record];
            }
            held.Add(record);
            if (BinaryPrimitives.ReadUInt32BigEndian(record) << 1 != 0)
            {
                dataHeld.Set();
                return [];
            }
            byte[] batch = [.. held.SelectMany(r => r)];
            held.Clear();
            return [batch];
        }
        // Right to left: B's offer waits until A's data is held, so A's switch comes after its data.
        IEnumerable<byte[]>? RightToLeft(int index, byte[] record)
        {
            if (index == 0)
            {
                dataHeld.Wait(Wait);
            }
            return [record];
        }
        await using var relay = await Relay.StartAsync(LeftToRight, RightToLeft, skip: Relay.HandshakeBytes);
        var establishA = SecureSession.EstablishAsync(relay.Left, SessionPair.Code, offerAesGcm: true);
        var establishB = SecureSession.EstablishAsync(relay.Right, SessionPair.Code, offerAesGcm: true);
        await using var a = await establishA;
        await using var b = await establishB;
        var stream = a.OpenStream();
        await stream.WriteAsync("hello"u8.ToArray());
        var there = (await b.AcceptStreamAsync().AsTask().WaitAsync(Wait))!;
        var buffer = new byte[16];
        int n = await there.ReadAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal("hello", System.Text.Encoding.ASCII.GetString(buffer, 0, n));
        Assert.Equal(CipherSuite.Aes256Gcm, b.ReceiveSuite);
    }

    [SkippableFact(Timeout = 60_000)]
    public async Task A_large_transfer_under_AES_GCM_spans_the_switch_and_arrives_intact()
    {
        Skip.IfNot(Aes256Gcm.IsAvailable, "this CPU has no AES-NI and PCLMULQDQ");
        // Writing starts at once, before the switch: the first records are ChaCha20-Poly1305, the
        // rest AES-256-GCM, the record count going on across it.
        var pair = await LoopbackPair.ConnectAsync();
        var establishA = SecureSession.EstablishAsync(pair.A, SessionPair.Code, offerAesGcm: true);
        var establishB = SecureSession.EstablishAsync(pair.B, SessionPair.Code, offerAesGcm: true);
        await using var a = await establishA;
        await using var b = await establishB;
        var stream = a.OpenStream();
        var send = Task.Run(() => SessionPair.SendAsync(stream, 4 * EightMiB, seed: 7));
        var there = (await b.AcceptStreamAsync().AsTask().WaitAsync(Wait))!;
        there.CompleteWrites();
        var (count, digest) = await SessionPair.ReceiveAsync(there).WaitAsync(Wait);
        Assert.Equal(4 * EightMiB, count);
        Assert.Equal(await send, digest);
        Assert.Equal((CipherSuite.Aes256Gcm, CipherSuite.Aes256Gcm), (a.SendSuite, b.ReceiveSuite));
        pair.Dispose();
    }

    private static async Task ExchangeAndCloseAsync(SessionPair pair)
    {
        var stream = pair.A.OpenStream();
        var there = (await pair.B.AcceptStreamAsync().AsTask().WaitAsync(Wait))!;
        var sendA = SessionPair.SendAsync(stream, EightMiB, seed: 1);
        var sendB = SessionPair.SendAsync(there, EightMiB, seed: 2);
        var receivedByB = await SessionPair.ReceiveAsync(there).WaitAsync(Wait);
        var receivedByA = await SessionPair.ReceiveAsync(stream).WaitAsync(Wait);
        Assert.Equal((EightMiB, await sendA), receivedByB);
        Assert.Equal((EightMiB, await sendB), receivedByA);
        stream.Dispose();
        there.Dispose();
        var closeA = pair.A.CloseAsync();
        await pair.B.CloseAsync().WaitAsync(Wait);
        await closeA.WaitAsync(Wait);
    }
}
