using Punchhole.Protocol;
using static Punchhole.Fuzz.InvariantException;

namespace Punchhole.Fuzz;

/// <summary>The PROXY protocol header parser (tstun --proxy-protocol reads it from untrusted bytes).</summary>
public static class ProxyHeaderTarget
{
    /// <summary>
    /// ProxyHeader.Parse: never throws; never asks for more once <see cref="ProxyHeader.MaxLength"/>
    /// bytes are in (the reader's buffer is that long); a complete header has a length within the
    /// data and the maximum; every shorter prefix of it is Incomplete (a reader that consumes an
    /// incomplete header never takes a byte of the stream after it); and the same header followed
    /// by other bytes, or alone, parses the same. Once a prefix is Invalid, every longer one is too.
    /// </summary>
    public static void Parse(ReadOnlySpan<byte> input)
    {
        // Past the longest header the parser never looks; the checks below are quadratic.
        input = input[..Math.Min(input.Length, 2 * ProxyHeader.MaxLength)];
        var status = ProxyHeader.Parse(input, out int length, out var source);
        if (status == ProxyHeaderStatus.Incomplete)
        {
            Check(input.Length < ProxyHeader.MaxLength, $"Incomplete after {input.Length} bytes");
            Check(length == 0 || length > input.Length, $"Incomplete with {input.Length} bytes of a {length}-byte header");
            CheckPrefixes(input, input.Length);
            return;
        }
        if (status == ProxyHeaderStatus.Invalid)
        {
            // The first prefix that is Invalid: everything from it on stays Invalid.
            int first = 1;
            while (first <= input.Length && ProxyHeader.Parse(input[..first], out _, out _) != ProxyHeaderStatus.Invalid)
            {
                first++;
            }
            Check(first <= input.Length, "Invalid in full but no prefix is");
            for (int n = first; n <= input.Length; n++)
            {
                Check(ProxyHeader.Parse(input[..n], out _, out _) == ProxyHeaderStatus.Invalid, $"prefix {n} is valid again after {first}");
            }
            CheckPrefixes(input, first - 1);
            return;
        }
        Check(length > 0 && length <= input.Length && length <= ProxyHeader.MaxLength, $"{status} with length {length} of {input.Length}");
        var alone = ProxyHeader.Parse(input[..length], out int aloneLength, out var aloneSource);
        Check(alone == status && aloneLength == length && aloneSource == source, $"the header alone parses as {alone}/{aloneLength}");
        Check(status == ProxyHeaderStatus.Proxied || source == default, $"{status} with a source address");
        CheckPrefixes(input, length - 1);
    }

    /// <summary>Every prefix up to <paramref name="upTo"/> bytes is Incomplete.</summary>
    private static void CheckPrefixes(ReadOnlySpan<byte> input, int upTo)
    {
        for (int n = 0; n <= upTo; n++)
        {
            var status = ProxyHeader.Parse(input[..n], out _, out _);
            Check(status == ProxyHeaderStatus.Incomplete, $"prefix of {n} bytes is {status}, yet the header goes on");
        }
    }
}
