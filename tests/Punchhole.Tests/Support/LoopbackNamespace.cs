using System.Globalization;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Punchhole.NatLab;

namespace Punchhole.Tests.Support;

/// <summary>
/// A private network namespace with only its loopback up (root): a server and clients made in it
/// can be given packet loss with iptables without touching the machine's own loopback. Named
/// "phlo-PID-N"; namespaces left by a test process that died are removed when the next is made.
/// </summary>
internal sealed partial class LoopbackNamespace : IDisposable
{
    private static int s_next;

    private LoopbackNamespace(string name) => Name = name;

    public string Name { get; }

    /// <summary>
    /// A name no other namespace of this test process has: one counter for every kind of namespace
    /// the tests make, since two counters with one prefix collide when tests run in parallel.
    /// </summary>
    internal static string NewName() => $"phlo-{Environment.ProcessId}-{Interlocked.Increment(ref s_next)}";

    /// <summary>Makes the namespace; skips the test (or fails it under CI) without root or the tools.</summary>
    public static LoopbackNamespace Create()
    {
        RepositoryPaths.RequireRoot("a private network namespace with iptables");
        foreach (string tool in new[] { "ip", "iptables" })
        {
            if (!Command.Exists(tool))
            {
                string why = $"{tool} is missing (apt-get install iproute2 iptables)";
                Assert.False(RepositoryPaths.InCi, why);
                Skip.If(true, why);
            }
        }
        RemoveStale();
        var ns = new LoopbackNamespace(NewName());
        Command.Run("ip", ["netns", "add", ns.Name]);
        try
        {
            Command.Run("ip", ["-n", ns.Name, "link", "set", "lo", "up"]);
            return ns;
        }
        catch
        {
            ns.Dispose();
            throw;
        }
    }

    /// <summary>Runs <paramref name="work"/> inside the namespace: sockets it makes (a listener too) live there.</summary>
    public T Run<T>(Func<T> work) => NetNs.Run(Name, work);

    /// <summary>An IPv4 TCP socket in the namespace.</summary>
    public Socket CreateTcpSocket() => NetNs.CreateTcpSocket(Name, AddressFamily.InterNetwork);

    /// <summary>
    /// <paramref name="executable"/> and <paramref name="args"/> as a command line that runs inside
    /// the namespace: <c>ip netns exec</c> execs the program, so the process started is the program's own.
    /// </summary>
    public string[] Wrap(string executable, params string[] args) => ["netns", "exec", Name, executable, .. args];

    /// <summary>Waits until something in the namespace accepts connections at <paramref name="endPoint"/>.</summary>
    public Task<bool> AcceptsAsync(System.Net.IPEndPoint endPoint, TimeSpan wait) => LocalPorts.AcceptsAsync(endPoint, wait, CreateTcpSocket);

    /// <summary>Runs iptables in the namespace, e.g. ("-A", "INPUT", ...).</summary>
    public void Iptables(params string[] args) => Command.Run("ip", ["netns", "exec", Name, "iptables", .. args]);

    public void Dispose() => Command.TryRun("ip", ["netns", "delete", Name], out _);

    private static void RemoveStale()
    {
        if (!Directory.Exists(NetNs.Directory))
        {
            return;
        }
        foreach (string path in Directory.EnumerateFiles(NetNs.Directory))
        {
            var match = NamePattern().Match(Path.GetFileName(path));
            if (match.Success && !Directory.Exists($"/proc/{int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture)}"))
            {
                Command.TryRun("ip", ["netns", "delete", Path.GetFileName(path)], out _);
            }
        }
    }

    [GeneratedRegex(@"^phlo-(\d+)-\d+$")]
    private static partial Regex NamePattern();
}
