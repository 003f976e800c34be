using Punchhole.Protocol;

namespace Punchhole.Tests.Protocol;

public class KeyHasherTests
{
    // Key 00 01 .. 0f, as in the SipHash paper's test vectors.
    private const ulong PaperK0 = 0x0706050403020100UL, PaperK1 = 0x0f0e0d0c0b0a0908UL;

    [Fact]
    public void The_reference_matches_the_published_SipHash_2_4_vectors()
    {
        Assert.Equal(0x726fdb47dd0e0e31UL, SipHashReference.Hash(PaperK0, PaperK1, ReadOnlySpan<byte>.Empty));
        var message = Enumerable.Range(0, 15).Select(i => (byte)i).ToArray();
        Assert.Equal(0xa129ca6149be45e5UL, SipHashReference.Hash(PaperK0, PaperK1, message));
    }

    [Fact]
    public void The_32_byte_key_hash_equals_the_reference()
    {
        var bytes = new byte[32];
        for (int i = 0; i < 1000; i++)
        {
            ulong k0 = (ulong)Random.Shared.NextInt64(), k1 = (ulong)Random.Shared.NextInt64();
            Random.Shared.NextBytes(bytes);
            Assert.Equal(SipHashReference.Hash(k0, k1, bytes), SessionKey.Read(bytes).Hash64(new KeyHasher(k0, k1)));
        }
    }
}
