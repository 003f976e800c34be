using Punchhole.Secure.Sodium;

namespace Punchhole.Tests.Secure;

public class HkdfTests
{
    // RFC 5869, appendix A, test cases 1 to 3 (HKDF-SHA-256).
    [Theory]
    [InlineData(
        "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "000102030405060708090a0b0c", "f0f1f2f3f4f5f6f7f8f9", 42,
        "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5",
        "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865")]
    [InlineData(
        "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f",
        "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9fa0a1a2a3a4a5a6a7a8a9aaabacadaeaf",
        "b0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff",
        82,
        "06a6b88c5853361a06104c9ceb35b45cef760014904671014a193f40c15fc244",
        "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87")]
    [InlineData(
        "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "", "", 42,
        "19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04",
        "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8")]
    public void Matches_the_RFC_5869_test_vectors(string ikm, string salt, string info, int length, string prk, string okm)
    {
        var extracted = new byte[32];
        Hkdf<HmacSha256>.Extract(Convert.FromHexString(salt), Convert.FromHexString(ikm), extracted);
        Assert.Equal(prk, Convert.ToHexStringLower(extracted));

        var output = new byte[length];
        Hkdf<HmacSha256>.Expand(extracted, Convert.FromHexString(info), output);
        Assert.Equal(okm, Convert.ToHexStringLower(output));
    }

    [Fact]
    public void HKDF_SHA_512_agrees_with_the_platform_implementation_at_every_output_length()
    {
        var random = new Random(5869);
        for (int length = 1; length <= 300; length += 7)
        {
            byte[] ikm = new byte[random.Next(1, 100)];
            byte[] salt = new byte[random.Next(0, 150)];
            byte[] info = new byte[random.Next(0, 80)];
            random.NextBytes(ikm);
            random.NextBytes(salt);
            random.NextBytes(info);

            var prk = new byte[Hkdf.PrkLength];
            Hkdf.Extract(salt, ikm, prk);
            Assert.Equal(System.Security.Cryptography.HKDF.Extract(System.Security.Cryptography.HashAlgorithmName.SHA512, ikm, salt), prk);

            var output = new byte[length];
            Hkdf.Expand(prk, info, output);
            Assert.Equal(System.Security.Cryptography.HKDF.Expand(System.Security.Cryptography.HashAlgorithmName.SHA512, prk, length, info), output);
        }
    }

    [Fact]
    public void HMAC_SHA_512_agrees_with_the_platform_for_keys_longer_than_a_block()
    {
        byte[] key = new byte[200];
        byte[] message = new byte[333];
        new Random(2104).NextBytes(key);
        new Random(2105).NextBytes(message);
        var mac = new byte[HmacSha512.Length];
        HmacSha512.Compute(key, message, mac);
        Assert.Equal(System.Security.Cryptography.HMACSHA512.HashData(key, message), mac);
    }

    [Fact]
    public void Expand_refuses_more_than_255_blocks()
    {
        var prk = new byte[Hkdf.PrkLength];
        Assert.Throws<ArgumentException>(() => Hkdf.Expand(prk, [], new byte[255 * 64 + 1]));
    }
}
