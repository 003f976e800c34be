using System.Buffers;

namespace Punchhole.Secure.Handshake;

/// <summary>
/// CPace's string encodings: prepend_len (the length as LEB128, then the bytes), lv_cat (each
/// argument length-prefixed, concatenated) and o_cat (the larger of two strings first, after "oc").
/// Prefix-free, so no two different argument lists hash alike.
/// </summary>
internal static class LengthValue
{
    /// <summary>Appends LEB128(length) and the bytes: CPace's prepend_len.</summary>
    public static void Append(ArrayBufferWriter<byte> output, ReadOnlySpan<byte> value)
    {
        AppendLength(output, value.Length);
        output.Write(value);
    }

    /// <summary>The number of bytes prepend_len adds to a string of this length.</summary>
    public static int PrefixLength(int length)
    {
        int bytes = 1;
        while (length >= 0x80)
        {
            length >>= 7;
            bytes++;
        }
        return bytes;
    }

    private static void AppendLength(ArrayBufferWriter<byte> output, int length)
    {
        var span = output.GetSpan(5);
        int n = 0;
        uint rest = (uint)length;
        while (rest >= 0x80)
        {
            span[n++] = (byte)(rest | 0x80);
            rest >>= 7;
        }
        span[n++] = (byte)rest;
        output.Advance(n);
    }

    /// <summary>True when <paramref name="a"/> sorts after <paramref name="b"/> byte by byte, the longer winning a tie.</summary>
    public static bool LexicographicallyLarger(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b) => a.SequenceCompareTo(b) > 0;

    /// <summary>o_cat(a, b): "oc", then the lexicographically larger string, then the other.</summary>
    public static void AppendOrdered(ArrayBufferWriter<byte> output, ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        output.Write("oc"u8);
        if (LexicographicallyLarger(a, b))
        {
            output.Write(a);
            output.Write(b);
        }
        else
        {
            output.Write(b);
            output.Write(a);
        }
    }
}
