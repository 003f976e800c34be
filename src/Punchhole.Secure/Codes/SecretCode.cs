using System.Text;
using Punchhole.Protocol;
using Punchhole.Secure.Sodium;

namespace Punchhole.Secure.Codes;

/// <summary>How the user gave the shared secret.</summary>
internal enum SecretKind
{
    /// <summary>A pairing code: nameplate and three words.</summary>
    Code,

    /// <summary>A free-form phrase, stretched with Argon2id for the server-visible key.</summary>
    Phrase,
}

/// <summary>
/// Everything the secure mode derives from what the user typed: the 32-byte key the T-STUN server
/// sees, and the PAKE's inputs (the password PRS and the channel identifier CI, which is that key).
/// </summary>
internal sealed class SecretCode
{
    /// <summary>Argon2id for phrases: 3 passes over 64 MiB, one lane (libsodium's own limits).</summary>
    public const ulong PhraseIterations = 3;
    public const nuint PhraseMemoryBytes = 64 * 1024 * 1024;

    /// <summary>Phrases shorter than this many characters get a warning.</summary>
    public const int ShortPhraseLength = 20;

    /// <summary>The fixed Argon2id salt: a domain label, 16 bytes. Fixed so both sides derive the same key.</summary>
    public static ReadOnlySpan<byte> PhraseSalt => "punchhole-phr-v1"u8;

    private readonly byte[] _password;
    private readonly byte[] _channelId;

    private SecretCode(SecretKind kind, SessionKey rendezvousKey, byte[] password)
    {
        Kind = kind;
        RendezvousKey = rendezvousKey;
        _password = password;
        _channelId = new byte[SessionKey.Length];
        rendezvousKey.CopyTo(_channelId);
    }

    public SecretKind Kind { get; }

    /// <summary>The 32-byte key sent to the T-STUN server.</summary>
    public SessionKey RendezvousKey { get; }

    /// <summary>CPace's PRS: the code's words, or the whole phrase.</summary>
    public ReadOnlyMemory<byte> Password => _password;

    /// <summary>CPace's CI: the rendezvous key, so a session is bound to the nameplate it met on.</summary>
    public ReadOnlyMemory<byte> ChannelId => _channelId;

    public static SecretCode FromCode(PairingCode code) => new(SecretKind.Code, code.RendezvousKey(), code.Password());

    /// <summary>
    /// A free-form phrase: the server-visible key is <c>T-STUN/2</c> and 24 bytes of Argon2id(phrase), so that whoever sees it
    /// pays 64 MiB and a few hundred milliseconds per guess; the whole phrase is the PAKE password.
    /// Takes about that long here too.
    /// </summary>
    public static SecretCode FromPhrase(string phrase)
    {
        ArgumentException.ThrowIfNullOrEmpty(phrase);
        byte[] password = Encoding.UTF8.GetBytes(phrase);
        Span<byte> name = stackalloc byte[RendezvousName.Length];
        Argon2id.DeriveKey(password, PhraseSalt, PhraseIterations, PhraseMemoryBytes, name);
        return new SecretCode(SecretKind.Phrase, RendezvousName.Key(name), password);
    }

    /// <summary>A code if the text has a code's shape (see <see cref="PairingCode.LooksLikeCode"/>), otherwise a phrase.</summary>
    /// <exception cref="CodeFormatException">The text looks like a code but is not a valid one.</exception>
    public static SecretCode Parse(string text) =>
        PairingCode.LooksLikeCode(text) ? FromCode(PairingCode.Parse(text)) : FromPhrase(text);

    /// <summary>True for a phrase shorter than <see cref="ShortPhraseLength"/> characters, which a server operator could guess.</summary>
    public static bool IsShortPhrase(string phrase) => phrase.EnumerateRunes().Count() < ShortPhraseLength;

    /// <summary>The warning the client prints for a short phrase.</summary>
    public static string ShortPhraseWarning =>
        $"warning: the phrase is short (under {ShortPhraseLength} characters): whoever runs the server can try guesses of it offline; a generated code is safer";
}
