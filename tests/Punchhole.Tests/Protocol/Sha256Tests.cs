using System.Text;
using Punchhole.Protocol;

namespace Punchhole.Tests.Protocol;

public class Sha256Tests
{
    [Theory]
    [InlineData("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")]
    [InlineData("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")]
    [InlineData("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")]
    public void Matches_the_FIPS_180_examples(string message, string expected)
    {
        var digest = new byte[32];
        Sha256.Hash(Encoding.ASCII.GetBytes(message), digest);
        Assert.Equal(expected, Convert.ToHexStringLower(digest));
    }

    [Fact]
    public void Matches_the_platform_SHA256_at_every_length_around_the_block_edges()
    {
        var digest = new byte[32];
        for (int length = 0; length <= 300; length++)
        {
            var data = new byte[length];
            Random.Shared.NextBytes(data);
            Sha256.Hash(data, digest);
            Assert.Equal(System.Security.Cryptography.SHA256.HashData(data), digest);
        }
    }
}
