using System.Globalization;
using System.Net;
using System.Text;

namespace Punchhole.Tests.Support;

/// <summary>Which PROXY protocol HAProxy sends to its backends (its server lines' send-proxy options).</summary>
public enum ProxyVersion
{
    /// <summary>send-proxy: a version 1 text line.</summary>
    V1,

    /// <summary>send-proxy-v2: the binary header; health checks send LOCAL.</summary>
    V2,
}

/// <summary>
/// A real HAProxy (apt haproxy) in TCP mode in front of one or more backends, round robin, sending
/// the PROXY protocol, on a free loopback port. Its configuration is written to a temporary folder;
/// the process is started in the foreground (-db) and killed on Dispose.
/// </summary>
internal sealed class HaproxyProcess : IDisposable
{
    public const string Executable = "/usr/sbin/haproxy";

    private readonly ChildProcess _process;
    private readonly string _folder;

    private HaproxyProcess(ChildProcess process, string folder, IPEndPoint frontend)
    {
        _process = process;
        _folder = folder;
        Frontend = frontend;
    }

    /// <summary>Where clients connect.</summary>
    public IPEndPoint Frontend { get; }

    public string[] Lines => _process.Lines;

    /// <summary>
    /// Starts HAProxy balancing over <paramref name="backends"/> with <paramref name="version"/>;
    /// with <paramref name="checkEvery"/>, health checks at that interval (they send the header too).
    /// Returns once it accepts connections.
    /// </summary>
    /// <remarks>
    /// With <paramref name="direct"/>, one more frontend per backend, in order, that sends every
    /// connection to that backend alone (each instance's own address on the balancer, e.g. for its
    /// relay). With <paramref name="inside"/>, HAProxy runs in that network namespace (the addresses are its own).
    /// </remarks>
    public static async Task<HaproxyProcess> StartAsync(IReadOnlyList<IPEndPoint> backends, ProxyVersion version, TimeSpan? checkEvery = null,
        IReadOnlyList<IPEndPoint>? direct = null, LoopbackNamespace? inside = null)
    {
        Assert.True(File.Exists(Executable), $"{Executable} is missing: apt-get install -y haproxy");
        var frontend = new IPEndPoint(IPAddress.Loopback, LocalPorts.Free());
        // A second frontend that refuses every connection at once: it answers once HAProxy listens,
        // without a connection to a backend that would show in the backends' counters.
        var ready = new IPEndPoint(IPAddress.Loopback, LocalPorts.Free());
        string folder = Directory.CreateTempSubdirectory("punchhole-haproxy-").FullName;
        string config = Path.Combine(folder, "haproxy.cfg");
        await File.WriteAllTextAsync(config, Config(backends, version, checkEvery, frontend, ready) + DirectConfig(backends, version, direct));
        var process = inside is null
            ? ChildProcess.Start(Executable, "-f", config, "-db")
            : ChildProcess.Start("ip", inside.Wrap(Executable, "-f", config, "-db"));
        var haproxy = new HaproxyProcess(process, folder, frontend);
        var wait = TimeSpan.FromSeconds(15);
        if (!await (inside is null ? LocalPorts.AcceptsAsync(ready, wait) : inside.AcceptsAsync(ready, wait)))
        {
            haproxy.Dispose();
            throw new InvalidOperationException($"haproxy did not start; it wrote:\n{string.Join('\n', process.Lines)}");
        }
        return haproxy;
    }

    private static string Config(IReadOnlyList<IPEndPoint> backends, ProxyVersion version, TimeSpan? checkEvery, IPEndPoint frontend, IPEndPoint ready)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"""
            global
                maxconn 8000
                nbthread 1
            defaults
                mode tcp
                timeout connect 5s
                timeout client 120s
                timeout server 120s
            frontend ready
                bind {ready}
                tcp-request connection reject
            frontend clients
                bind {frontend}
                default_backend tstun
            backend tstun
                balance roundrobin

            """);
        string send = version == ProxyVersion.V2 ? "send-proxy-v2" : "send-proxy";
        // check-send-proxy: the checks carry the header too (HAProxy sends LOCAL in v2 and UNKNOWN in v1),
        // as a real deployment's must when the backend requires one on every connection.
        string check = checkEvery is { } every ? $" check check-send-proxy inter {(int)every.TotalMilliseconds}ms" : "";
        for (int i = 0; i < backends.Count; i++)
        {
            text.Append(CultureInfo.InvariantCulture, $"    server s{i + 1} {backends[i]} {send}{check}\n");
        }
        return text.ToString();
    }

    /// <summary>A frontend and a backend of its own for each backend named in <paramref name="direct"/>.</summary>
    private static string DirectConfig(IReadOnlyList<IPEndPoint> backends, ProxyVersion version, IReadOnlyList<IPEndPoint>? direct)
    {
        if (direct is null)
        {
            return "";
        }
        Assert.Equal(backends.Count, direct.Count);
        string send = version == ProxyVersion.V2 ? "send-proxy-v2" : "send-proxy";
        var text = new StringBuilder();
        for (int i = 0; i < backends.Count; i++)
        {
            text.Append(CultureInfo.InvariantCulture, $"""
                frontend direct{i + 1}
                    bind {direct[i]}
                    default_backend only{i + 1}
                backend only{i + 1}
                    server s{i + 1} {backends[i]} {send}

                """);
        }
        return text.ToString();
    }

    public void Dispose()
    {
        _process.Dispose();
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
            // A temporary folder left behind is harmless.
        }
    }
}
