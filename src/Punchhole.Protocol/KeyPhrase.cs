using System.Buffers.Text;
using System.Text;

namespace Punchhole.Protocol;

/// <summary>The user's pairing phrase (KEY on the command line) and the wire key made from it.</summary>
public static class KeyPhrase
{
    /// <summary>The wire key: SHA-256 of the phrase's UTF-8 bytes, as the original client sends it.</summary>
    public static SessionKey Derive(string phrase)
    {
        ArgumentNullException.ThrowIfNull(phrase);
        Span<byte> digest = stackalloc byte[Sha256.HashLength];
        Sha256.Hash(Encoding.UTF8.GetBytes(phrase), digest);
        return SessionKey.Read(digest);
    }

    /// <summary>A new phrase as the original makes one: 16 random bytes in base64 without '=' padding.</summary>
    public static string Generate()
    {
        Span<byte> random = stackalloc byte[16];
        SecureRandom.Fill(random);
        Span<byte> text = stackalloc byte[Base64.GetMaxEncodedToUtf8Length(random.Length)];
        Base64.EncodeToUtf8(random, text, out _, out int written);
        return Encoding.ASCII.GetString(text[..written]).TrimEnd('=');
    }
}
