using Punchhole.Protocol;

namespace Punchhole.Secure.Codes;

/// <summary>
/// The T-STUN key of a secure client: the 8 ASCII bytes <c>T-STUN/2</c>, which tell a T-STUN/2
/// server that the client speaks version 2, then a 24-byte name for the rendezvous (a hash of the
/// nameplate, or Argon2id of a phrase). A plain (v1) key is SHA-256 of the phrase: it begins with
/// those 8 bytes with probability 2^-64, so the two kinds never meet.
/// </summary>
internal static class RendezvousName
{
    public const int PrefixLength = 8;

    /// <summary>The bytes of the name after the prefix.</summary>
    public const int Length = SessionKey.Length - PrefixLength;

    public static ReadOnlySpan<byte> Prefix => "T-STUN/2"u8;

    /// <summary>The key for a 24-byte <paramref name="name"/>.</summary>
    public static SessionKey Key(ReadOnlySpan<byte> name)
    {
        if (name.Length != Length)
        {
            throw new ArgumentException($"A rendezvous name is {Length} bytes, not {name.Length}.", nameof(name));
        }
        Span<byte> key = stackalloc byte[SessionKey.Length];
        Prefix.CopyTo(key);
        name.CopyTo(key[PrefixLength..]);
        return SessionKey.Read(key);
    }
}
