using System.Buffers;
using Punchhole.Secure.Sodium;

namespace Punchhole.Secure.Handshake;

/// <summary>
/// CPace (draft-irtf-cfrg-cpace) for the cipher suite CPACE-RISTR255-SHA512: the generator from
/// the password, the public shares, the shared point with its identity check, and the
/// intermediate session key ISK over the ordered ("symmetric", initiator-free) transcript.
/// </summary>
internal static class CPace
{
    /// <summary>G.DSI for ristretto255.</summary>
    public static ReadOnlySpan<byte> Dsi => "CPaceRistretto255"u8;

    /// <summary>G.DSI || "_ISK".</summary>
    public static ReadOnlySpan<byte> IskDsi => "CPaceRistretto255_ISK"u8;

    /// <summary>H.s_in_bytes: SHA-512's input block.</summary>
    public const int HashBlockLength = 128;

    public const int PointLength = Ristretto255.PointLength;
    public const int ScalarLength = Ristretto255.ScalarLength;
    public const int IskLength = Sha512.HashLength;

    /// <summary>
    /// generator_string(DSI, PRS, CI, sid, 128) = lv_cat(DSI, PRS, zero_bytes(len_zpad), CI, sid),
    /// the zero padding filling SHA-512's first block so that its length does not depend on a short PRS.
    /// </summary>
    public static byte[] GeneratorString(ReadOnlySpan<byte> password, ReadOnlySpan<byte> channelId, ReadOnlySpan<byte> sessionId)
    {
        int zeroPad = Math.Max(0, HashBlockLength - 1 - LengthValue.PrefixLength(password.Length) - password.Length
                                  - LengthValue.PrefixLength(Dsi.Length) - Dsi.Length);
        var output = new ArrayBufferWriter<byte>(256 + password.Length + channelId.Length + sessionId.Length);
        LengthValue.Append(output, Dsi);
        LengthValue.Append(output, password);
        LengthValue.Append(output, new byte[zeroPad]);
        LengthValue.Append(output, channelId);
        LengthValue.Append(output, sessionId);
        byte[] text = output.WrittenSpan.ToArray();
        output.Clear();
        return text;
    }

    /// <summary>The encoded generator g: ristretto255's element derivation of SHA-512(generator_string).</summary>
    public static void CalculateGenerator(ReadOnlySpan<byte> password, ReadOnlySpan<byte> channelId, ReadOnlySpan<byte> sessionId, Span<byte> generator)
    {
        byte[] text = GeneratorString(password, channelId, sessionId);
        Span<byte> hash = stackalloc byte[Sha512.HashLength];
        Sha512.Hash(text, hash);
        Ristretto255.FromHash(hash, generator);
        Secret.Wipe(text);
        Secret.Wipe(hash);
    }

    /// <summary>Y = y * g. False only if g is not a group element, which a derived generator always is.</summary>
    public static bool TryPublicShare(ReadOnlySpan<byte> scalar, ReadOnlySpan<byte> generator, Span<byte> share) =>
        Ristretto255.TryMultiply(scalar, generator, share);

    /// <summary>
    /// K = scalar_mult_vfy(y, Y'): false when Y' does not decode or K is the identity, and CPace
    /// then aborts.
    /// </summary>
    public static bool TrySharedPoint(ReadOnlySpan<byte> scalar, ReadOnlySpan<byte> peerShare, Span<byte> shared) =>
        Ristretto255.TryMultiply(scalar, peerShare, shared);

    /// <summary>transcript_oc(Ya, ADa, Yb, ADb) = o_cat(lv_cat(Ya, ADa), lv_cat(Yb, ADb)).</summary>
    public static byte[] OrderedTranscript(ReadOnlySpan<byte> shareA, ReadOnlySpan<byte> dataA, ReadOnlySpan<byte> shareB, ReadOnlySpan<byte> dataB)
    {
        byte[] a = Message(shareA, dataA);
        byte[] b = Message(shareB, dataB);
        var output = new ArrayBufferWriter<byte>(2 + a.Length + b.Length);
        LengthValue.AppendOrdered(output, a, b);
        return output.WrittenSpan.ToArray();
    }

    /// <summary>transcript_ir(Ya, ADa, Yb, ADb) = lv_cat(Ya, ADa) || lv_cat(Yb, ADb), for the draft's vectors.</summary>
    public static byte[] InitiatorResponderTranscript(ReadOnlySpan<byte> shareA, ReadOnlySpan<byte> dataA, ReadOnlySpan<byte> shareB, ReadOnlySpan<byte> dataB)
    {
        var output = new ArrayBufferWriter<byte>();
        output.Write(Message(shareA, dataA));
        output.Write(Message(shareB, dataB));
        return output.WrittenSpan.ToArray();
    }

    /// <summary>lv_cat(Y, AD): one party's message as the transcript sees it.</summary>
    public static byte[] Message(ReadOnlySpan<byte> share, ReadOnlySpan<byte> associatedData)
    {
        var output = new ArrayBufferWriter<byte>(4 + share.Length + associatedData.Length);
        LengthValue.Append(output, share);
        LengthValue.Append(output, associatedData);
        return output.WrittenSpan.ToArray();
    }

    /// <summary>ISK = SHA-512(lv_cat(DSI || "_ISK", sid, K) || transcript).</summary>
    public static void IntermediateSessionKey(ReadOnlySpan<byte> sessionId, ReadOnlySpan<byte> sharedPoint, ReadOnlySpan<byte> transcript, Span<byte> isk)
    {
        var output = new ArrayBufferWriter<byte>(64 + sessionId.Length + transcript.Length);
        LengthValue.Append(output, IskDsi);
        LengthValue.Append(output, sessionId);
        LengthValue.Append(output, sharedPoint);
        output.Write(transcript);
        Sha512.Hash(output.WrittenSpan, isk);
        output.Clear();
    }
}
