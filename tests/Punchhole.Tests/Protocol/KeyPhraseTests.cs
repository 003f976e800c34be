using System.Text;
using Punchhole.Protocol;

namespace Punchhole.Tests.Protocol;

public class KeyPhraseTests
{
    [Theory]
    [InlineData("hello")]
    [InlineData("my ssh box")]
    [InlineData("ключ-🔑")]
    public void The_wire_key_is_SHA256_of_the_UTF8_phrase(string phrase)
    {
        var expected = System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(phrase));
        var wire = new byte[32];
        KeyPhrase.Derive(phrase).CopyTo(wire);
        Assert.Equal(expected, wire);
    }

    [Fact]
    public void A_generated_phrase_is_16_random_bytes_in_unpadded_base64()
    {
        string a = KeyPhrase.Generate();
        string b = KeyPhrase.Generate();
        Assert.NotEqual(a, b);
        foreach (var phrase in new[] { a, b })
        {
            Assert.Equal(22, phrase.Length);
            Assert.DoesNotContain('=', phrase);
            Assert.Equal(16, Convert.FromBase64String(phrase + "==").Length);
        }
    }
}
