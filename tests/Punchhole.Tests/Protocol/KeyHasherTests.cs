using Punchhole.Protocol;

namespace Punchhole.Tests.Protocol;

public class KeyHasherTests
{
    // Key 00 01 .. 0f, as in the SipHash paper's test vectors.
    private static readonly KeyHasher s_paperKey = new(0x0706050403020100UL, 0x0f0e0d0c0b0a0908UL);

    [Fact]
    public void Matches_the_published_SipHash_2_4_vectors()
    {
        Assert.Equal(0x726fdb47dd0e0e31UL, s_paperKey.Hash64(ReadOnlySpan<byte>.Empty));
        var message = Enumerable.Range(0, 15).Select(i => (byte)i).ToArray();
        Assert.Equal(0xa129ca6149be45e5UL, s_paperKey.Hash64(message));
    }

    [Fact]
    public void The_32_byte_path_equals_the_general_one()
    {
        var hasher = KeyHasher.CreateRandom();
        var bytes = new byte[32];
        for (int i = 0; i < 1000; i++)
        {
            Random.Shared.NextBytes(bytes);
            Assert.Equal(hasher.Hash64(bytes), SessionKey.Read(bytes).Hash64(hasher));
        }
    }
}
