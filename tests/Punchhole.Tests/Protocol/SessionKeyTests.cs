using Punchhole.Protocol;

namespace Punchhole.Tests.Protocol;

public class SessionKeyTests
{
    [Fact]
    public void Read_round_trips_the_32_wire_bytes()
    {
        var bytes = new byte[32];
        Random.Shared.NextBytes(bytes);
        var key = SessionKey.Read(bytes);
        var back = new byte[32];
        key.CopyTo(back);
        Assert.Equal(bytes, back);
        Assert.Equal(Convert.ToHexStringLower(bytes), key.ToString());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(31)]
    [InlineData(33)]
    public void Only_exactly_32_bytes_make_a_key(int length)
    {
        Assert.False(SessionKey.TryRead(new byte[length], out _));
        Assert.Throws<ArgumentException>(() => SessionKey.Read(new byte[length]));
    }

    [Fact]
    public void Equality_looks_at_every_byte()
    {
        var bytes = new byte[32];
        Random.Shared.NextBytes(bytes);
        var key = SessionKey.Read(bytes);
        Assert.Equal(key, SessionKey.Read(bytes.ToArray()));
        for (int i = 0; i < 32; i++)
        {
            var other = bytes.ToArray();
            other[i] ^= 0x01;
            Assert.NotEqual(key, SessionKey.Read(other));
            Assert.True(key != SessionKey.Read(other));
        }
    }

    [Fact]
    public void Equal_keys_hash_alike_and_the_hash_depends_on_a_secret()
    {
        var bytes = new byte[32];
        Random.Shared.NextBytes(bytes);
        var key = SessionKey.Read(bytes);
        Assert.Equal(key.GetHashCode(), SessionKey.Read(bytes.ToArray()).GetHashCode());

        // Two hashers with different secrets disagree on (almost) every key.
        var a = KeyHasher.CreateRandom();
        var b = KeyHasher.CreateRandom();
        int same = 0;
        for (int i = 0; i < 100; i++)
        {
            Random.Shared.NextBytes(bytes);
            var k = SessionKey.Read(bytes);
            same += k.Hash64(a) == k.Hash64(b) ? 1 : 0;
        }
        Assert.True(same <= 1, $"{same} of 100 keys hashed the same under two secrets");
    }
}
