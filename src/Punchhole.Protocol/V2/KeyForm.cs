namespace Punchhole.Protocol.V2;

/// <summary>What a 32-byte key asks of the server, told by its first 8 bytes alone (see docs/PROTOCOL.md).</summary>
public enum KeyForm
{
    /// <summary>Any other key: T-STUN v1, a SHA-256 digest. The reply is <c>ADDR PORT</c>.</summary>
    Version1,

    /// <summary><c>T-STUN/2</c> and 24 bytes: a v2 rendezvous, answered at once with a hello.</summary>
    Version2,

    /// <summary><c>T-STUN/R</c>, a relay token and 8 zero bytes: one leg of a relayed session.</summary>
    RelayLeg,
}

/// <summary>
/// The three forms of a T-STUN key. A v1 key is a SHA-256 digest, which begins with either 8-byte
/// prefix with probability 2^-64 each; the prefixes are printable ASCII so that a key seen in a
/// capture says what it is.
/// </summary>
public static class RendezvousKeys
{
    /// <summary>The bytes every form begins with: the prefix.</summary>
    public const int PrefixLength = 8;

    /// <summary>The bytes of a v2 key after its prefix: the client's own name for the rendezvous.</summary>
    public const int NameLength = SessionKey.Length - PrefixLength;

    /// <summary>The first 8 bytes of a v2 rendezvous key.</summary>
    public static ReadOnlySpan<byte> Version2Prefix => "T-STUN/2"u8;

    /// <summary>The first 8 bytes of a relay leg's key.</summary>
    public static ReadOnlySpan<byte> RelayPrefix => "T-STUN/R"u8;

    /// <summary>The form of a 32-byte key; anything that is not exactly 32 bytes is <see cref="KeyForm.Version1"/>.</summary>
    public static KeyForm Classify(ReadOnlySpan<byte> key)
    {
        if (key.Length != SessionKey.Length)
        {
            return KeyForm.Version1;
        }
        var prefix = key[..PrefixLength];
        return prefix.SequenceEqual(Version2Prefix) ? KeyForm.Version2
            : prefix.SequenceEqual(RelayPrefix) ? KeyForm.RelayLeg
            : KeyForm.Version1;
    }

    /// <summary>
    /// Writes the v2 key for <paramref name="name"/>, 24 bytes the two clients of a pair share (a
    /// secure client's: a hash of its nameplate), into the first 32 bytes of <paramref name="key"/>.
    /// </summary>
    public static void WriteVersion2(ReadOnlySpan<byte> name, Span<byte> key)
    {
        if (name.Length != NameLength)
        {
            throw new ArgumentException($"A v2 key's name is exactly {NameLength} bytes, not {name.Length}.", nameof(name));
        }
        if (key.Length < SessionKey.Length)
        {
            throw new ArgumentException($"Need {SessionKey.Length} bytes of room.", nameof(key));
        }
        Version2Prefix.CopyTo(key);
        name.CopyTo(key[PrefixLength..]);
    }

    /// <summary>The v2 key for a 24-byte <paramref name="name"/>.</summary>
    public static SessionKey Version2(ReadOnlySpan<byte> name)
    {
        Span<byte> key = stackalloc byte[SessionKey.Length];
        WriteVersion2(name, key);
        return SessionKey.Read(key);
    }
}
