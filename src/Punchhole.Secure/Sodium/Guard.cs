namespace Punchhole.Secure.Sodium;

internal static class Guard
{
    /// <summary>Throws unless the span has at least <paramref name="length"/> bytes.</summary>
    public static void Length(ReadOnlySpan<byte> span, int length, string name)
    {
        if (span.Length < length)
        {
            throw new ArgumentException($"Need at least {length} bytes, not {span.Length}.", name);
        }
    }
}
