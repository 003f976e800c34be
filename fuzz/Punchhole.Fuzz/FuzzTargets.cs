using System.Diagnostics.CodeAnalysis;

namespace Punchhole.Fuzz;

/// <summary>A fuzz target: takes any bytes, throws <see cref="InvariantException"/> (or anything else) on a bug.</summary>
public delegate void FuzzTarget(ReadOnlySpan<byte> input);

/// <summary>The targets by name, as scripts/fuzz.sh and the corpus folders name them.</summary>
public static class FuzzTargets
{
    private static readonly Dictionary<string, FuzzTarget> s_targets = new(StringComparer.Ordinal)
    {
        ["peer-reply"] = ProtocolTargets.PeerReply,
        ["ip-address"] = ProtocolTargets.IpAddress,
        ["server-cmdline"] = CommandLineTargets.Server,
        ["client-cmdline"] = CommandLineTargets.Client,
        ["proxy-header"] = ProxyHeaderTarget.Parse,
        ["secure-records"] = SecureTargets.Records,
        ["pairing-code"] = SecureTargets.PairingCodeText,
    };

    public static IEnumerable<string> Names => s_targets.Keys;

    public static bool TryGet(string name, [NotNullWhen(true)] out FuzzTarget? target) => s_targets.TryGetValue(name, out target);
}

/// <summary>A property of a parser that an input broke.</summary>
public sealed class InvariantException(string message) : Exception(message)
{
    public InvariantException()
        : this("invariant broken")
    {
    }

    public InvariantException(string message, Exception inner)
        : this($"{message}: {inner}")
    {
    }

    public static void Check([DoesNotReturnIf(false)] bool condition, string what)
    {
        if (!condition)
        {
            throw new InvariantException(what);
        }
    }
}
