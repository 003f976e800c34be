using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Punchhole.Client;
using Punchhole.Protocol;
using Punchhole.Protocol.CommandLine;
using Punchhole.Secure.Codes;
using Punchhole.Secure.Sodium;
using Punchhole.Tests.Support;

namespace Punchhole.Tests.Secure;

public partial class CodeTests
{
    [GeneratedRegex("^[1-9][0-9]{5}-[a-z]{4,6}-[a-z]{4,6}-[a-z]{4,6}$")]
    private static partial Regex CodeShape();

    [Fact]
    public void Generated_codes_are_a_six_digit_nameplate_and_three_words_and_parse_back_to_themselves()
    {
        for (int i = 0; i < 1000; i++)
        {
            var code = PairingCode.Generate();
            string text = code.ToString();
            Assert.Matches(CodeShape(), text);
            var parsed = PairingCode.Parse(text);
            Assert.Equal(text, parsed.ToString());
            Assert.Equal(code.RendezvousKey(), parsed.RendezvousKey());
            Assert.Equal(code.Password(), parsed.Password());
        }
    }

    [Fact]
    public void Generated_words_and_nameplates_are_spread_over_all_their_values()
    {
        const int codes = 30_000;
        var counts = new int[WordList.Count];
        var index = WordList.Words.Select((word, i) => (word, i)).ToDictionary(p => p.word, p => p.i);
        var nameplates = new HashSet<int>();
        var firstDigits = new int[10];
        for (int i = 0; i < codes; i++)
        {
            var code = PairingCode.Generate();
            foreach (string word in code.Words)
            {
                counts[index[word]]++;
            }
            nameplates.Add(code.Nameplate);
            firstDigits[code.Nameplate / 100_000]++;
        }
        // 90,000 draws over 2048 words: about 44 each. Every word shows up, none dominates.
        Assert.All(counts, c => Assert.InRange(c, 10, 100));
        double entropy = -counts.Where(c => c > 0).Sum(c => (double)c / (3 * codes) * Math.Log2((double)c / (3 * codes)));
        Assert.InRange(entropy, 10.9, 11.0);
        // 30,000 draws from 900,000 nameplates collide rarely (birthday: about 500 pairs).
        Assert.InRange(nameplates.Count, codes - 1000, codes);
        Assert.Equal(0, firstDigits[0]);
        Assert.All(firstDigits[1..], c => Assert.InRange(c, codes / 9 * 0.85, codes / 9 * 1.15));
        Assert.Equal(33, PairingCode.SecretBits);
    }

    [Theory]
    [InlineData("482913-tonul-kemar-osku")]
    [InlineData("  482913 tonul kemar osku  ")]
    [InlineData("482913 - TONUL - Kemar - OSKU")]
    [InlineData("482913_tonul.kemar--osku")]
    [InlineData("482913-ton-kem-osk")]
    [InlineData("482913-tonu-kema-osku")]
    [InlineData("0482913-tonul-kemar-osku")]
    public void Parsing_is_lenient_about_case_separators_and_word_starts(string text)
    {
        var code = PairingCode.Parse(text);
        Assert.Equal("482913-tonul-kemar-osku", code.ToString());
        Assert.True(PairingCode.LooksLikeCode(text));
    }

    [Theory]
    [InlineData("482913-tonol-kemar-osku", "'tonol' is not a code word (did you mean 'tonul'")]
    [InlineData("482913-tonul-kemar-osky", "'osky' is not a code word (did you mean 'osku'")]
    [InlineData("482913-tonul-kemar", "a code has 3 words after its number, not 2")]
    [InlineData("482913-tonul-kemar-osku-gamo", "a code has 3 words after its number, not 4")]
    [InlineData("482913", "'482913' is only the number of a code")]
    [InlineData("1234567890-tonul-kemar-osku", "the code's number '1234567890' is too long")]
    [InlineData("482913-to-kemar-osku", "'to' is not a code word")]
    public void Typos_are_refused_with_a_clear_line_before_any_network_traffic(string text, string message)
    {
        Assert.True(PairingCode.LooksLikeCode(text));
        var error = Assert.Throws<CodeFormatException>(() => SecretCode.Parse(text));
        Assert.StartsWith(message, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Theory]
    [InlineData("correct horse battery staple")]
    [InlineData("my-secret-phrase-42")]
    [InlineData("x9!")]
    [InlineData("482913-tonul-kemar-osku!")]
    public void Anything_without_the_shape_of_a_code_is_a_free_form_phrase(string text) =>
        Assert.False(PairingCode.LooksLikeCode(text));

    [Theory]
    [InlineData("1234-apple-river-stone", "'apple' is not a code word")]
    [InlineData("7 deadly sins", "a code has 3 words after its number, not 2")]
    public void A_phrase_of_ones_own_with_a_codes_shape_is_refused_with_how_to_use_it_and_works_with_a_sign(string key, string why)
    {
        var refused = ClientCommandLine.Parse(["-4T", "198.51.100.1", key]);
        Assert.Equal(CommandLineAction.Error, refused.Action);
        Assert.StartsWith($"KEY: {why}", refused.Error, StringComparison.Ordinal);
        Assert.Contains("to use a phrase of your own, give it a character other than letters", refused.Error, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', refused.Error!);
        // --plain takes any phrase; with a sign, the phrase is a phrase in the secure mode too.
        Assert.Equal(CommandLineAction.Run, ClientCommandLine.Parse(["-4T", "198.51.100.1", "--plain", key]).Action);
        Assert.Equal(CommandLineAction.Run, ClientCommandLine.Parse(["-4T", "198.51.100.1", key + "!"]).Action);
        Assert.False(PairingCode.LooksLikeCode(key + "!"));
    }

    [Fact]
    public void A_typed_text_with_a_codes_shape_and_code_words_is_that_code_whatever_its_separators()
    {
        var typed = SecretCode.Parse("1234 Aban abel.abir");
        Assert.Equal(SecretKind.Code, typed.Kind);
        Assert.Equal(SecretCode.Parse("1234-aban-abel-abir").RendezvousKey, typed.RendezvousKey);
        Assert.Equal("aban-abel-abir", Encoding.ASCII.GetString(typed.Password.Span));
    }

    [Fact]
    public void The_server_visible_key_depends_on_the_nameplate_only_and_the_password_on_the_words_only()
    {
        var a = SecretCode.FromCode(PairingCode.Parse("482913-tonul-kemar-osku"));
        var sameNameplate = SecretCode.FromCode(PairingCode.Parse("482913-aban-abel-abir"));
        var otherNameplate = SecretCode.FromCode(PairingCode.Parse("482914-tonul-kemar-osku"));
        Assert.Equal(a.RendezvousKey, sameNameplate.RendezvousKey);
        Assert.NotEqual(a.RendezvousKey, otherNameplate.RendezvousKey);
        Assert.Equal(a.Password.ToArray(), otherNameplate.Password.ToArray());
        Assert.NotEqual(a.Password.ToArray(), sameNameplate.Password.ToArray());
        Assert.Equal("tonul-kemar-osku", Encoding.ASCII.GetString(a.Password.Span));
        // The channel identifier is the rendezvous key; none of it is the plain mode's key.
        var channel = new byte[32];
        a.RendezvousKey.CopyTo(channel);
        Assert.Equal(channel, a.ChannelId.ToArray());
        Assert.NotEqual(KeyPhrase.Derive("482913-tonul-kemar-osku"), a.RendezvousKey);
        Assert.NotEqual(KeyPhrase.Derive("482913"), a.RendezvousKey);
    }

    [Fact]
    public void The_nameplate_key_is_the_documented_hash()
    {
        // "T-STUN/2", then SHA-512(lv_cat("punchhole v1 rendezvous key from nameplate", "482913")), first 24 bytes.
        byte[] label = Encoding.ASCII.GetBytes("punchhole v1 rendezvous key from nameplate");
        byte[] input = [(byte)label.Length, .. label, 6, .. "482913"u8];
        byte[] key = [.. "T-STUN/2"u8, .. System.Security.Cryptography.SHA512.HashData(input)[..24]];
        Assert.Equal(Convert.ToHexStringLower(key), PairingCode.Parse("482913-tonul-kemar-osku").RendezvousKey().ToString());
    }

    [Fact(Timeout = 60_000)]
    public async Task A_phrase_goes_through_Argon2id_for_the_server_visible_key_and_whole_into_the_PAKE()
    {
        const string phrase = "correct horse battery staple";
        var clock = Stopwatch.StartNew();
        var secret = await Task.Run(() => SecretCode.Parse(phrase));
        var elapsed = clock.Elapsed;
        Assert.Equal(SecretKind.Phrase, secret.Kind);
        Assert.Equal(Encoding.UTF8.GetBytes(phrase), secret.Password.ToArray());

        var name = new byte[24];
        Argon2id.DeriveKey(Encoding.UTF8.GetBytes(phrase), "punchhole-phr-v1"u8, 3, 64 * 1024 * 1024, name);
        Assert.Equal(Convert.ToHexStringLower([.. "T-STUN/2"u8, .. name]), secret.RendezvousKey.ToString());
        Assert.NotEqual(KeyPhrase.Derive(phrase), secret.RendezvousKey);
        // 64 MiB of memory-hard work is not instant: a cheap hash would be.
        Assert.True(elapsed > TimeSpan.FromMilliseconds(20), $"Argon2id took only {elapsed}");

        Assert.False(SecretCode.IsShortPhrase(phrase));
        Assert.True(SecretCode.IsShortPhrase("hunter22"));
        Assert.Contains("under 20 characters", SecretCode.ShortPhraseWarning, StringComparison.Ordinal);
    }

    [Fact]
    public void The_word_list_has_2048_words_each_with_its_own_first_three_letters()
    {
        var words = WordList.Words;
        Assert.Equal(2048, words.Count);
        Assert.Equal(words.Count, words.Distinct().Count());
        Assert.Equal(words.Count, words.Select(w => w[..3]).Distinct().Count());
        Assert.All(words, w => Assert.Matches("^[a-z]{4,6}$", w));
        Assert.Equal(words.OrderBy(w => w, StringComparer.Ordinal), words);
    }

    [Fact]
    public void No_two_words_sound_alike_over_a_telephone_nor_differ_in_one_vowel_only()
    {
        static string Heard(string word) => new(word.Select(c => c switch
        {
            'p' => 'b', 't' => 'd', 'k' => 'g', 'n' => 'm', 'v' => 'f', 'z' => 's', _ => c,
        }).ToArray());
        var heard = WordList.Words.Select(Heard).ToList();
        Assert.Equal(heard.Count, heard.Distinct().Count());
        var blanked = heard.SelectMany(h => Enumerable.Range(0, h.Length).Where(i => "aeiou".Contains(h[i])).Select(i => h[..i] + "*" + h[(i + 1)..])).ToList();
        Assert.Equal(blanked.Count, blanked.Distinct().Count());
    }

    [Fact(Timeout = 60_000)]
    public async Task The_committed_word_list_is_what_the_script_generates()
    {
        string generated = Path.Combine(Path.GetTempPath(), $"wordlist-{Guid.NewGuid():N}.cs");
        try
        {
            using var script = ChildProcess.Start("/usr/bin/python3", Path.Combine(RepositoryPaths.Root, "scripts", "generate-wordlist.py"), generated);
            Assert.Equal(0, await script.WaitForExitAsync(TimeSpan.FromSeconds(50)));
            string committed = Path.Combine(RepositoryPaths.Root, "src", "Punchhole.Secure", "Codes", "WordList.Generated.cs");
            Assert.Equal(await File.ReadAllTextAsync(committed), await File.ReadAllTextAsync(generated));
        }
        finally
        {
            File.Delete(generated);
        }
    }
}
