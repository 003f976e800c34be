using System.Buffers;
using System.IO.Pipelines;
using Punchhole.Secure.Sodium;

namespace Punchhole.Secure.Handshake;

/// <summary>
/// The secure channel's handshake, version 1, over any duplex byte stream. Both sides act at once,
/// as in a TCP simultaneous open, so neither waits for the other to speak first:
/// <code>
///   hello   = "PHS" 0x01 || Y          (36 bytes; Y = y * g, g from the code)
///   confirm = tag                       (64 bytes, HMAC-SHA-512 over the ordered transcript)
/// </code>
/// Each side sends its hello, reads the other's, derives ISK, sends its confirmation and checks
/// the other's. The 4-byte prefix is CPace's associated data, so the version is authenticated too.
/// A wrong code fails both confirmations at once; nothing else is sent before they verify.
/// </summary>
internal static class SecureHandshake
{
    public const byte Version = 1;
    public const int PrefixLength = 4;
    public const int HelloLength = PrefixLength + CPace.PointLength;
    public const int ConfirmLength = KeySchedule.TagLength;

    /// <summary>How long the whole exchange may take once the connection is up.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(5);

    /// <summary>"PHS" and the version: the hello's prefix and CPace's ADa = ADb.</summary>
    public static ReadOnlySpan<byte> Prefix => "PHS\u0001"u8;

    /// <summary>
    /// Runs the handshake. <paramref name="password"/> is CPace's PRS (the code's secret words or the
    /// whole phrase), <paramref name="channelId"/> its CI (the rendezvous key): both sides must hold the same.
    /// With <paramref name="offerAesGcm"/> the AES-256-GCM keys are derived too, for the record layer's switch.
    /// </summary>
    /// <exception cref="AuthenticationFailedException">Wrong code, a party in between, or an invalid element.</exception>
    /// <exception cref="SecureChannelException">Not a secure peer, another version, a timeout or an early close.</exception>
    public static async Task<SessionKeys> RunAsync(
        PipeReader input, PipeWriter output, ReadOnlyMemory<byte> password, ReadOnlyMemory<byte> channelId,
        TimeSpan timeout, CancellationToken cancellationToken, bool offerAesGcm = false)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        bool confirmationSent = false;
        try
        {
            using var party = Party.Start(password.Span, channelId.Span);
            output.Write(party.Hello);
            await output.FlushAsync(deadline.Token).ConfigureAwait(false);

            byte[] peerHello = await ReadHelloAsync(input, deadline.Token).ConfigureAwait(false);
            party.ReceiveHello(peerHello);

            output.Write(party.Confirmation);
            await output.FlushAsync(deadline.Token).ConfigureAwait(false);
            confirmationSent = true;

            byte[] peerConfirmation = await ReadExactlyAsync(input, ConfirmLength, deadline.Token).ConfigureAwait(false)
                ?? throw new AuthenticationFailedException();
            return party.Finish(peerConfirmation, offerAesGcm);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new SecureChannelException(SecureFailure.HandshakeTimedOut,
                $"the secure handshake did not finish within {timeout.TotalSeconds:0.#} s");
        }
        catch (IOException e) when (e is not SecureChannelException)
        {
            // A peer that rejected our confirmation closes at once, often with a reset.
            throw confirmationSent
                ? new AuthenticationFailedException()
                : new SecureChannelException(SecureFailure.ClosedDuringHandshake,
                    $"the connection failed during the secure handshake: {e.Message}", e);
        }
    }

    private static async ValueTask<byte[]> ReadHelloAsync(PipeReader input, CancellationToken cancellationToken)
    {
        // The prefix first: a peer that is not in secure mode is told apart at once.
        var result = await input.ReadAtLeastAsync(PrefixLength, cancellationToken).ConfigureAwait(false);
        var buffer = result.Buffer;
        if (buffer.Length < PrefixLength)
        {
            input.AdvanceTo(buffer.End);
            throw ClosedEarly();
        }
        Span<byte> prefix = stackalloc byte[PrefixLength];
        buffer.Slice(0, PrefixLength).CopyTo(prefix);
        // Nothing consumed nor examined: the next read returns these bytes at once.
        input.AdvanceTo(buffer.Start);
        CheckPrefix(prefix);
        return await ReadExactlyAsync(input, HelloLength, cancellationToken).ConfigureAwait(false) ?? throw ClosedEarly();
    }

    private static void CheckPrefix(ReadOnlySpan<byte> prefix)
    {
        if (prefix.SequenceEqual(Prefix))
        {
            return;
        }
        if (prefix[..3].SequenceEqual(Prefix[..3]))
        {
            throw new SecureChannelException(SecureFailure.VersionMismatch,
                $"the other side speaks version {prefix[3]} of the secure protocol; this punchhole speaks version {Version}");
        }
        throw new SecureChannelException(SecureFailure.NotSecurePeer,
            "the other side does not speak punchhole's secure protocol (is it running --plain or the original punchhole?)");
    }

    private static SecureChannelException ClosedEarly() =>
        new(SecureFailure.ClosedDuringHandshake, "the other side closed the connection during the secure handshake");

    /// <summary>Exactly <paramref name="count"/> bytes, or null when the stream ends first.</summary>
    private static async ValueTask<byte[]?> ReadExactlyAsync(PipeReader input, int count, CancellationToken cancellationToken)
    {
        var result = await input.ReadAtLeastAsync(count, cancellationToken).ConfigureAwait(false);
        var buffer = result.Buffer;
        if (buffer.Length < count)
        {
            input.AdvanceTo(buffer.End);
            return null;
        }
        byte[] bytes = buffer.Slice(0, count).ToArray();
        input.AdvanceTo(buffer.GetPosition(count));
        return bytes;
    }

    /// <summary>One side's CPace state, from its hello to the keys.</summary>
    internal sealed class Party : IDisposable
    {
        private readonly byte[] _scalar = new byte[CPace.ScalarLength];
        private readonly byte[] _prk = new byte[Hkdf.PrkLength];
        private byte[] _transcript = [];

        private Party()
        {
        }

        public byte[] Hello { get; } = new byte[HelloLength];

        public byte[] Confirmation { get; } = new byte[ConfirmLength];

        public HandshakeRole Role { get; private set; }

        private ReadOnlySpan<byte> Share => Hello.AsSpan(PrefixLength);

        /// <summary>Samples y and makes the hello: prefix || y * g.</summary>
        public static Party Start(ReadOnlySpan<byte> password, ReadOnlySpan<byte> channelId, ReadOnlySpan<byte> scalar = default)
        {
            var party = new Party();
            Span<byte> generator = stackalloc byte[CPace.PointLength];
            CPace.CalculateGenerator(password, channelId, sessionId: default, generator);
            if (scalar.IsEmpty)
            {
                Ristretto255.RandomScalar(party._scalar);
            }
            else
            {
                scalar.CopyTo(party._scalar);
            }
            Prefix.CopyTo(party.Hello);
            if (!CPace.TryPublicShare(party._scalar, generator, party.Hello.AsSpan(PrefixLength)))
            {
                throw new InvalidOperationException("The derived generator is not a group element.");
            }
            return party;
        }

        /// <summary>Takes the peer's hello and computes K, ISK, the role and this side's confirmation.</summary>
        /// <exception cref="AuthenticationFailedException">The peer's element is invalid, the identity, or our own reflected.</exception>
        public void ReceiveHello(ReadOnlySpan<byte> peerHello)
        {
            var ad = Prefix;
            var peerShare = peerHello.Slice(PrefixLength, CPace.PointLength);
            // Our own hello sent back is the loop-back attack of the symmetric setting: it would
            // make the confirmation roles coincide, so it is refused outright.
            if (peerShare.SequenceEqual(Share))
            {
                throw new AuthenticationFailedException();
            }
            Span<byte> shared = stackalloc byte[CPace.PointLength];
            if (!CPace.TrySharedPoint(_scalar, peerShare, shared))
            {
                throw new AuthenticationFailedException();
            }
            Role = LengthValue.LexicographicallyLarger(CPace.Message(Share, ad), CPace.Message(peerShare, ad))
                ? HandshakeRole.First
                : HandshakeRole.Second;
            _transcript = CPace.OrderedTranscript(Share, ad, peerShare, ad);
            Span<byte> isk = stackalloc byte[CPace.IskLength];
            CPace.IntermediateSessionKey(sessionId: default, shared, _transcript, isk);
            KeySchedule.PseudorandomKey(isk, _prk);
            KeySchedule.ConfirmationTag(_prk, Role, _transcript, Confirmation);
            Secret.Wipe(shared);
            Secret.Wipe(isk);
            Secret.Wipe(_scalar);
        }

        /// <summary>Checks the peer's confirmation and derives the traffic keys (with <paramref name="offerAesGcm"/>, the AES-256-GCM ones too).</summary>
        /// <exception cref="AuthenticationFailedException">The confirmation does not verify.</exception>
        public SessionKeys Finish(ReadOnlySpan<byte> peerConfirmation, bool offerAesGcm = false)
        {
            Span<byte> expected = stackalloc byte[ConfirmLength];
            KeySchedule.ConfirmationTag(_prk, Role.Other(), _transcript, expected);
            bool verified = Secret.Equal(expected, peerConfirmation);
            Secret.Wipe(expected);
            if (!verified)
            {
                throw new AuthenticationFailedException();
            }
            byte[] send = new byte[KeySchedule.TrafficKeyLength];
            byte[] receive = new byte[KeySchedule.TrafficKeyLength];
            KeySchedule.TrafficKey(_prk, Role, send);
            KeySchedule.TrafficKey(_prk, Role.Other(), receive);
            if (!offerAesGcm)
            {
                return new SessionKeys(Role, send, receive);
            }
            byte[] aesSend = new byte[KeySchedule.TrafficKeyLength];
            byte[] aesReceive = new byte[KeySchedule.TrafficKeyLength];
            KeySchedule.AesTrafficKey(_prk, Role, aesSend);
            KeySchedule.AesTrafficKey(_prk, Role.Other(), aesReceive);
            return new SessionKeys(Role, send, receive, aesSend, aesReceive);
        }

        public void Dispose()
        {
            Secret.Wipe(_scalar);
            Secret.Wipe(_prk);
        }
    }
}
