using System.Net;
using System.Net.Sockets;

namespace Punchhole.Load;

/// <summary>
/// Where the load goes (a server on loopback, never anywhere else) and where it comes from:
/// source addresses 127.0.0.1 .. 127.0.0.N, taken in turn. Every source address has its own
/// range of ephemeral ports towards the server, so N of them give N times the connections before
/// ports run out (tens of thousands of pairings a second leave many in TIME_WAIT).
/// </summary>
internal sealed class LoadTarget
{
    private readonly IPEndPoint[] _sources;
    private int _next;

    private LoadTarget(IPEndPoint server, IPEndPoint[] sources)
    {
        Server = server;
        PartnerServer = server;
        _sources = sources;
    }

    public IPEndPoint Server { get; }

    /// <summary>Where the second client of a pairing goes: <see cref="Server"/>, or another instance sharing its table.</summary>
    public IPEndPoint PartnerServer { get; private init; }

    /// <summary>This target, with the second client of each pairing sent to <paramref name="port"/> on the same address.</summary>
    public LoadTarget WithPartnerPort(int port) =>
        new(Server, _sources) { PartnerServer = new IPEndPoint(Server.Address, port) };

    /// <summary>How many source addresses are used (1 for IPv6: ::1 is the only loopback address).</summary>
    public int SourceCount => Math.Max(1, _sources.Length);

    public AddressFamily Family => Server.AddressFamily;

    /// <summary>
    /// A target on loopback; anything else is refused, so the tool cannot be turned on someone
    /// else's server. IPv4 load is spread over <paramref name="sources"/> addresses of 127.0.0.0/8.
    /// </summary>
    public static LoadTarget Create(IPAddress address, int port, int sources)
    {
        if (!IPAddress.IsLoopback(address))
        {
            throw new ArgumentException($"{address} is not a loopback address: this tool only loads a server on 127.0.0.0/8 or ::1.");
        }
        ArgumentOutOfRangeException.ThrowIfLessThan(port, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(port, 65535);
        ArgumentOutOfRangeException.ThrowIfLessThan(sources, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(sources, 254);
        var server = new IPEndPoint(address, port);
        if (address.AddressFamily != AddressFamily.InterNetwork)
        {
            return new LoadTarget(server, []);
        }
        var list = new IPEndPoint[sources];
        for (int i = 0; i < sources; i++)
        {
            list[i] = new IPEndPoint(new IPAddress(new byte[] { 127, 0, 0, (byte)(i + 1) }), 0);
        }
        return new LoadTarget(server, list);
    }

    /// <summary>The source address for the next connection (port 0: the kernel picks it at connect), or null to let the kernel choose.</summary>
    public IPEndPoint? NextSource()
    {
        if (_sources.Length == 0)
        {
            return null;
        }
        uint i = (uint)Interlocked.Increment(ref _next);
        return _sources[i % (uint)_sources.Length];
    }

    public override string ToString() => _sources.Length > 1
        ? $"{Server} from 127.0.0.1-{_sources.Length}"
        : Server.ToString();
}
