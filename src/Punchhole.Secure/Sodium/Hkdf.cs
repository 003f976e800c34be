namespace Punchhole.Secure.Sodium;

/// <summary>
/// HKDF (RFC 5869) over a libsodium HMAC. libsodium 1.0.18 has no crypto_kdf_hkdf_*, so the two
/// steps are written here on top of its HMAC; no primitive is hand-made. The channel uses
/// <see cref="HmacSha512"/>; <see cref="HmacSha256"/> is there for the RFC's test vectors.
/// </summary>
internal static class Hkdf<TMac>
    where TMac : IMac
{
    /// <summary>The longest output Expand may produce: 255 blocks of the MAC.</summary>
    public static int MaxOutputLength => 255 * TMac.MacLength;

    /// <summary>PRK = HMAC(salt, IKM); an empty salt stands for a block of zeros, as the RFC says.</summary>
    public static void Extract(ReadOnlySpan<byte> salt, ReadOnlySpan<byte> inputKey, Span<byte> prk)
    {
        Span<byte> zeros = stackalloc byte[TMac.MacLength];
        zeros.Clear();
        TMac.Compute(salt.IsEmpty ? zeros : salt, inputKey, [], prk);
    }

    /// <summary>OKM = T(1) | T(2) | ... cut to the output's length, T(i) = HMAC(PRK, T(i-1) | info | i).</summary>
    public static void Expand(ReadOnlySpan<byte> prk, ReadOnlySpan<byte> info, Span<byte> output)
    {
        if (output.Length > MaxOutputLength)
        {
            throw new ArgumentException($"HKDF gives at most {MaxOutputLength} bytes here.", nameof(output));
        }
        int macLength = TMac.MacLength;
        // T(i-1) | info | i, rebuilt for each block.
        byte[] message = new byte[macLength + info.Length + 1];
        Span<byte> block = stackalloc byte[macLength];
        int done = 0;
        for (int i = 1; done < output.Length; i++)
        {
            int start = i == 1 ? macLength : 0;
            if (i > 1)
            {
                block.CopyTo(message);
            }
            info.CopyTo(message.AsSpan(macLength));
            message[^1] = (byte)i;
            TMac.Compute(prk, message.AsSpan(start), [], block);
            int take = Math.Min(block.Length, output.Length - done);
            block[..take].CopyTo(output[done..]);
            done += take;
        }
        Secret.Wipe(block);
        Secret.Wipe(message);
    }
}

/// <summary>HKDF-SHA-512, the channel's key derivation.</summary>
internal static class Hkdf
{
    public const int PrkLength = HmacSha512.Length;

    public static void Extract(ReadOnlySpan<byte> salt, ReadOnlySpan<byte> inputKey, Span<byte> prk) =>
        Hkdf<HmacSha512>.Extract(salt, inputKey, prk);

    public static void Expand(ReadOnlySpan<byte> prk, ReadOnlySpan<byte> info, Span<byte> output) =>
        Hkdf<HmacSha512>.Expand(prk, info, output);
}
