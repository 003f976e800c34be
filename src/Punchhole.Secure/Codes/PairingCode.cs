using System.Globalization;
using System.Text;
using Punchhole.Protocol;
using Punchhole.Secure.Handshake;
using Punchhole.Secure.Sodium;

namespace Punchhole.Secure.Codes;

/// <summary>
/// A wormhole-style code such as <c>482913-tonul-bemar-osk</c>: a public nameplate (a decimal
/// number) and three secret words. Only a hash of the nameplate goes to the rendezvous server; the
/// words go only into the PAKE.
/// </summary>
internal sealed class PairingCode
{
    /// <summary>Generated nameplates are six digits, 100000 to 999999.</summary>
    public const int NameplateMin = 100_000;
    public const int NameplateMax = 999_999;

    /// <summary>Typed nameplates may have up to nine digits.</summary>
    public const int MaxNameplateDigits = 9;

    public const int WordCount = 3;

    /// <summary>The secret's entropy when generated: three words of 11 bits.</summary>
    public const int SecretBits = WordCount * WordList.BitsPerWord;

    private static ReadOnlySpan<byte> NameplateLabel => "punchhole v1 rendezvous key from nameplate"u8;

    private readonly string[] _words;

    private PairingCode(int nameplate, string[] words)
    {
        Nameplate = nameplate;
        _words = words;
    }

    public int Nameplate { get; }

    public IReadOnlyList<string> Words => _words;

    /// <summary>A fresh code: a uniform six-digit nameplate and three uniform words.</summary>
    public static PairingCode Generate()
    {
        int nameplate = NameplateMin + (int)Secret.Uniform(NameplateMax - NameplateMin + 1);
        var words = new string[WordCount];
        for (int i = 0; i < words.Length; i++)
        {
            words[i] = WordList.Word((int)Secret.Uniform(WordList.Count));
        }
        return new PairingCode(nameplate, words);
    }

    /// <summary>What a user whose own phrase has a code's shape is told to do.</summary>
    public const string PhraseShapeAdvice =
        "a KEY that looks like a code (a number, then words of letters) must be a valid code; to use a phrase of your own, give it a character other than letters, e.g. '!'";

    /// <summary>
    /// True when <paramref name="text"/> has the shape of a code: a number followed only by words of
    /// letters, separated by dashes, spaces, dots or underscores. Anything else is a free-form phrase.
    /// </summary>
    public static bool LooksLikeCode(string text)
    {
        var tokens = Tokens(text);
        return tokens.Length >= 1 && IsDigits(tokens[0]) && tokens.Skip(1).All(IsLetters);
    }

    /// <summary>
    /// Parses a code leniently: any case, dashes or spaces, words or their first three (or more)
    /// letters.
    /// </summary>
    /// <exception cref="CodeFormatException">The code is malformed or has a word that is not a code word.</exception>
    public static PairingCode Parse(string text)
    {
        var tokens = Tokens(text);
        if (tokens.Length == 0 || !IsDigits(tokens[0]))
        {
            throw new CodeFormatException("a code starts with its number, as in 482913-word-word-word");
        }
        string number = tokens[0];
        if (number.TrimStart('0').Length > MaxNameplateDigits)
        {
            throw new CodeFormatException($"the code's number '{number}' is too long: at most {MaxNameplateDigits} digits");
        }
        if (tokens.Length == 1)
        {
            throw new CodeFormatException($"'{number}' is only the number of a code: give the whole code, as in {number}-word-word-word");
        }
        if (tokens.Length - 1 != WordCount)
        {
            throw new CodeFormatException($"a code has {WordCount} words after its number, not {tokens.Length - 1}");
        }
        var words = new string[WordCount];
        for (int i = 0; i < WordCount; i++)
        {
            string token = tokens[i + 1];
            if (!WordList.TryResolve(token, out words[i]))
            {
                var suggestions = WordList.Suggestions(token);
                string hint = suggestions.Count == 0 ? "" : $" (did you mean {string.Join(" or ", suggestions.Select(s => $"'{s}'"))}?)";
                throw new CodeFormatException($"'{token}' is not a code word{hint}");
            }
        }
        return new PairingCode(int.Parse(number, NumberStyles.None, CultureInfo.InvariantCulture), words);
    }

    /// <summary>The canonical text: <c>nameplate-word-word-word</c>, lower case.</summary>
    public override string ToString() => $"{Nameplate.ToString(CultureInfo.InvariantCulture)}-{string.Join('-', _words)}";

    /// <summary>
    /// The 32-byte T-STUN key: <c>T-STUN/2</c>, then SHA-512(lv_cat(label, nameplate in decimal))
    /// cut to 24 bytes (see <see cref="RendezvousName"/>). It depends on the nameplate only, never
    /// on the words.
    /// </summary>
    public SessionKey RendezvousKey()
    {
        var input = new System.Buffers.ArrayBufferWriter<byte>(64);
        LengthValue.Append(input, NameplateLabel);
        LengthValue.Append(input, Encoding.ASCII.GetBytes(Nameplate.ToString(CultureInfo.InvariantCulture)));
        Span<byte> digest = stackalloc byte[Sha512.HashLength];
        Sha512.Hash(input.WrittenSpan, digest);
        return RendezvousName.Key(digest[..RendezvousName.Length]);
    }

    /// <summary>The PAKE password (CPace's PRS): the three words joined by dashes, in ASCII.</summary>
    public byte[] Password() => Encoding.ASCII.GetBytes(string.Join('-', _words));

    private static string[] Tokens(string text) =>
        text.Split(['-', ' ', '\t', '.', '_'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private static bool IsDigits(string token) => token.Length > 0 && token.All(char.IsAsciiDigit);

    private static bool IsLetters(string token) => token.Length > 0 && token.All(char.IsAsciiLetter);
}
