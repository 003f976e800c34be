using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;

namespace Punchhole.Protocol;

/// <summary>
/// The 32 raw bytes two clients send to be paired. Held as four words so that
/// equality is four compares and the key lives inline in whatever holds it.
/// </summary>
public readonly struct SessionKey : IEquatable<SessionKey>
{
    public const int Length = 32;

    private readonly ulong _w0, _w1, _w2, _w3;

    private SessionKey(ulong w0, ulong w1, ulong w2, ulong w3)
    {
        _w0 = w0;
        _w1 = w1;
        _w2 = w2;
        _w3 = w3;
    }

    /// <summary>Reads a key from exactly <see cref="Length"/> bytes.</summary>
    /// <exception cref="ArgumentException">The span is not 32 bytes long.</exception>
    public static SessionKey Read(ReadOnlySpan<byte> bytes)
    {
        if (!TryRead(bytes, out var key))
        {
            throw new ArgumentException($"A session key is exactly {Length} bytes, not {bytes.Length}.", nameof(bytes));
        }
        return key;
    }

    /// <summary>Reads a key from exactly <see cref="Length"/> bytes; false for any other length.</summary>
    public static bool TryRead(ReadOnlySpan<byte> bytes, out SessionKey key)
    {
        if (bytes.Length != Length)
        {
            key = default;
            return false;
        }
        key = new SessionKey(
            BinaryPrimitives.ReadUInt64LittleEndian(bytes),
            BinaryPrimitives.ReadUInt64LittleEndian(bytes[8..]),
            BinaryPrimitives.ReadUInt64LittleEndian(bytes[16..]),
            BinaryPrimitives.ReadUInt64LittleEndian(bytes[24..]));
        return true;
    }

    /// <summary>Writes the 32 wire bytes into <paramref name="destination"/>.</summary>
    public void CopyTo(Span<byte> destination)
    {
        if (destination.Length < Length)
        {
            throw new ArgumentException($"Need {Length} bytes of room.", nameof(destination));
        }
        BinaryPrimitives.WriteUInt64LittleEndian(destination, _w0);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[8..], _w1);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[16..], _w2);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[24..], _w3);
    }

    public bool Equals(SessionKey other) =>
        ((_w0 ^ other._w0) | (_w1 ^ other._w1) | (_w2 ^ other._w2) | (_w3 ^ other._w3)) == 0;

    public override bool Equals([NotNullWhen(true)] object? obj) => obj is SessionKey other && Equals(other);

    /// <summary>
    /// Keys are chosen by clients, so the hash is keyed with a per-process secret:
    /// an attacker cannot precompute keys that collide (hash flooding).
    /// </summary>
    public override int GetHashCode() => KeyHasher.Process.Hash(this);

    /// <summary>The 64-bit keyed hash under <paramref name="hasher"/>.</summary>
    public ulong Hash64(KeyHasher hasher) => hasher.Hash64(_w0, _w1, _w2, _w3);

    public static bool operator ==(SessionKey left, SessionKey right) => left.Equals(right);

    public static bool operator !=(SessionKey left, SessionKey right) => !left.Equals(right);

    /// <summary>Lower-case hex of the wire bytes, for diagnostics.</summary>
    public override string ToString()
    {
        Span<byte> bytes = stackalloc byte[Length];
        CopyTo(bytes);
        return Convert.ToHexStringLower(bytes);
    }
}
