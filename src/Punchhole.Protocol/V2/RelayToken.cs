using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;

namespace Punchhole.Protocol.V2;

/// <summary>
/// A relay token: 128 random bits from the kernel that the server hands one client of a pair in
/// its <c>PEER</c> line, and that the client's relay leg then presents as its key. Single use: the
/// server forgets it once a leg has used it or it expired. Written as 32 lower-case hex digits.
/// </summary>
public readonly struct RelayToken : IEquatable<RelayToken>
{
    /// <summary>The token's bytes.</summary>
    public const int Length = 16;

    /// <summary>Its text in a <c>PEER</c> line.</summary>
    public const int HexLength = 2 * Length;

    private readonly ulong _high, _low;

    private RelayToken(ulong high, ulong low)
    {
        _high = high;
        _low = low;
    }

    /// <summary>True for the all-zero value, which is never issued (it stands for "no token").</summary>
    public bool IsEmpty => (_high | _low) == 0;

    /// <summary>A fresh token from getrandom(2); never the empty one.</summary>
    public static RelayToken CreateRandom()
    {
        Span<byte> bytes = stackalloc byte[Length];
        RelayToken token;
        do
        {
            SecureRandom.Fill(bytes);
            token = Read(bytes);
        }
        while (token.IsEmpty);
        return token;
    }

    /// <summary>Reads 16 raw bytes.</summary>
    public static RelayToken Read(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length != Length)
        {
            throw new ArgumentException($"A relay token is exactly {Length} bytes, not {bytes.Length}.", nameof(bytes));
        }
        return new RelayToken(BinaryPrimitives.ReadUInt64BigEndian(bytes), BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]));
    }

    /// <summary>Writes the 16 raw bytes.</summary>
    public void CopyTo(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt64BigEndian(destination, _high);
        BinaryPrimitives.WriteUInt64BigEndian(destination[8..], _low);
    }

    /// <summary>
    /// The relay leg's key: <c>T-STUN/R</c>, the 16 token bytes, and 8 zero bytes, written into the
    /// first 32 bytes of <paramref name="key"/>. The token itself is the credential: a leg key
    /// travels to the same server, over the same kind of connection, as the <c>PEER</c> line that
    /// carried the token, so hashing it would hide nothing from anyone who could see either.
    /// </summary>
    public void WriteLegKey(Span<byte> key)
    {
        if (key.Length < SessionKey.Length)
        {
            throw new ArgumentException($"Need {SessionKey.Length} bytes of room.", nameof(key));
        }
        RendezvousKeys.RelayPrefix.CopyTo(key);
        CopyTo(key.Slice(RendezvousKeys.PrefixLength, Length));
        key.Slice(RendezvousKeys.PrefixLength + Length, SessionKey.Length - RendezvousKeys.PrefixLength - Length).Clear();
    }

    /// <summary>The relay leg's key as the server reads it.</summary>
    public SessionKey LegKey()
    {
        Span<byte> key = stackalloc byte[SessionKey.Length];
        WriteLegKey(key);
        return SessionKey.Read(key);
    }

    /// <summary>
    /// The token a relay leg's key carries; false unless <paramref name="key"/> is 32 bytes of the
    /// relay form (the prefix, a token that is not all zero, and 8 zero bytes).
    /// </summary>
    public static bool TryReadLegKey(ReadOnlySpan<byte> key, out RelayToken token)
    {
        token = default;
        if (RendezvousKeys.Classify(key) != KeyForm.RelayLeg
            || key[(RendezvousKeys.PrefixLength + Length)..].IndexOfAnyExcept((byte)0) >= 0)
        {
            return false;
        }
        token = Read(key.Slice(RendezvousKeys.PrefixLength, Length));
        return !token.IsEmpty;
    }

    /// <summary>Writes the 32 lower-case hex digits; returns 32.</summary>
    public int FormatHex(Span<byte> destination)
    {
        const string Digits = "0123456789abcdef";
        if (destination.Length < HexLength)
        {
            throw new ArgumentException($"Need {HexLength} bytes of room.", nameof(destination));
        }
        for (int i = 0; i < 16; i++)
        {
            destination[i] = (byte)Digits[(int)(_high >> (60 - 4 * i)) & 0xF];
            destination[16 + i] = (byte)Digits[(int)(_low >> (60 - 4 * i)) & 0xF];
        }
        return HexLength;
    }

    /// <summary>Parses exactly 32 lower-case hex digits into a token that is not all zero.</summary>
    public static bool TryParseHex(ReadOnlySpan<byte> hex, out RelayToken token)
    {
        token = default;
        if (hex.Length != HexLength)
        {
            return false;
        }
        ulong high = 0, low = 0;
        for (int i = 0; i < 16; i++)
        {
            int h = LowerHex(hex[i]), l = LowerHex(hex[16 + i]);
            if ((h | l) < 0)
            {
                return false;
            }
            high = (high << 4) | (uint)h;
            low = (low << 4) | (uint)l;
        }
        token = new RelayToken(high, low);
        return !token.IsEmpty;
    }

    /// <summary>The token's 64-bit keyed hash, for the server's table of reservations.</summary>
    public ulong Hash64(KeyHasher hasher) => hasher.Hash64(_high, _low, 0, 0);

    public bool Equals(RelayToken other) => _high == other._high && _low == other._low;

    public override bool Equals([NotNullWhen(true)] object? obj) => obj is RelayToken other && Equals(other);

    public override int GetHashCode() => (int)Hash64(KeyHasher.Process);

    public static bool operator ==(RelayToken left, RelayToken right) => left.Equals(right);

    public static bool operator !=(RelayToken left, RelayToken right) => !left.Equals(right);

    public override string ToString()
    {
        Span<byte> hex = stackalloc byte[HexLength];
        return System.Text.Encoding.ASCII.GetString(hex[..FormatHex(hex)]);
    }

    private static int LowerHex(byte c) => c switch
    {
        >= (byte)'0' and <= (byte)'9' => c - '0',
        >= (byte)'a' and <= (byte)'f' => c - 'a' + 10,
        _ => -1,
    };
}
