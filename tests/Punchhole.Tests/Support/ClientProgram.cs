using System.Globalization;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace Punchhole.Tests.Support;

/// <summary>The punchhole client run as a process: the JIT build the test project copies next to the tests.</summary>
internal static partial class ClientProgram
{
    public static string Executable => ChildProcess.Built("punchhole");

    public static ChildProcess Start(params string[] args) => ChildProcess.Start(Executable, args);

    /// <summary>
    /// Starts the client through sh with <paramref name="redirections"/> (e.g. "&lt; /" or "&gt;&amp;-"):
    /// the stdin or stdout a test process cannot hand it directly, such as a directory or a closed descriptor.
    /// </summary>
    public static ChildProcess StartRedirected(string redirections, params string[] args) =>
        StartInShell($"exec \"$0\" \"$@\" {redirections}", args);

    /// <summary>Runs <paramref name="script"/> with sh, in which <c>"$0" "$@"</c> is the client with <paramref name="args"/>.</summary>
    public static ChildProcess StartInShell(string script, params string[] args) =>
        ChildProcess.Start("sh", ["-c", script, Executable, .. args]);

    /// <summary>
    /// Starts the published static binary through sh with <paramref name="redirections"/>; skips
    /// (fails under CI) when scripts/publish.sh has not run.
    /// </summary>
    public static ChildProcess StartPublishedRedirected(string redirections, params string[] args) =>
        ChildProcess.Start("sh", ["-c", $"exec \"$0\" \"$@\" {redirections}", RepositoryPaths.RequireArtifact("punchhole/punchhole"), .. args]);

    /// <summary>-4 -T 127.0.0.1 -P <paramref name="port"/>: a T-STUN server on loopback.</summary>
    public static string[] Server(int port) => ["-4", "-T", "127.0.0.1", "-P", port.ToString(CultureInfo.InvariantCulture)];

    /// <summary>
    /// Every stderr line is one of ours, in English: the program's prefix, no runtime resource key
    /// (net_…, IO_…), no exception type and no stack trace.
    /// </summary>
    public static void AssertReadable(ChildProcess client)
    {
        string[] lines = client.Lines;
        string all = string.Join('\n', lines);
        Assert.NotEmpty(lines);
        Assert.All(lines, l => Assert.StartsWith("punchhole: ", l, StringComparison.Ordinal));
        Assert.False(ResourceKey().IsMatch(all), $"a runtime resource key reached the user:\n{all}");
        Assert.DoesNotContain("   at ", all, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", all, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled", all, StringComparison.Ordinal);
    }

    [GeneratedRegex(@"\b(net|IO|UnauthorizedAccess|Arg|InvalidOperation|NotSupported|ObjectDisposed)_[A-Za-z]")]
    private static partial Regex ResourceKey();
}

/// <summary>
/// A client sent by a scripted T-STUN server to a plain listening peer on loopback, whose end of
/// the "punched" connection the test holds: punching is not what such tests are about.
/// </summary>
internal sealed class ClientWithPlainPeer : IDisposable
{
    private readonly PlainPeer _peer = new();
    private readonly FakeRendezvous _rendezvous;

    /// <param name="args">Options and KEY after the server's and --plain (-4 -T 127.0.0.1 -P PORT --plain).</param>
    /// <param name="redirections">Shell redirections for the client, or null to give it the test's pipes.</param>
    /// <param name="script">A shell script that runs the client as <c>"$0" "$@"</c>, instead of <paramref name="redirections"/>.</param>
    public ClientWithPlainPeer(string[] args, string? redirections = null, string? script = null)
    {
        _rendezvous = new FakeRendezvous(_peer.Reply);
        // A plain peer speaks the original protocol: the client must too.
        string[] all = [.. ClientProgram.Server(_rendezvous.Port), "--plain", .. args];
        Client = (redirections, script) switch
        {
            (_, { } shell) => ClientProgram.StartInShell(shell, all),
            ({ } redirect, _) => ClientProgram.StartRedirected(redirect, all),
            _ => ClientProgram.Start(all),
        };
    }

    public ChildProcess Client { get; }

    public Task<Socket> AcceptAsync() => _peer.AcceptAsync();

    public void Dispose()
    {
        Client.Dispose();
        _rendezvous.Dispose();
        _peer.Dispose();
    }
}
