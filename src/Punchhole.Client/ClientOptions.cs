using System.Net;
using System.Net.Sockets;
using Punchhole.Protocol;

namespace Punchhole.Client;

/// <summary>Which way data flows over the punched connection.</summary>
internal enum RelayMode
{
    /// <summary>stdin to the peer and the peer to stdout (the default).</summary>
    Both,

    /// <summary>-s: stdin to the peer only.</summary>
    SendOnly,

    /// <summary>-r: the peer to stdout only.</summary>
    ReceiveOnly,
}

/// <summary>A local TCP endpoint the punched connection is joined to instead of stdin/stdout.</summary>
internal abstract record Forward;

/// <summary>-L [BIND:]PORT: listen here and relay the first connection accepted. BIND is a name or an address; null for 127.0.0.1.</summary>
internal sealed record ListenForward(string? Host, int Port) : Forward
{
    public override string ToString() => HostPort.Format(Host ?? IPAddress.Loopback.ToString(), Port);
}

/// <summary>-R HOST:PORT: connect to this service once the hole is punched and relay it.</summary>
internal sealed record ConnectForward(string Host, int Port) : Forward
{
    public override string ToString() => HostPort.Format(Host, Port);
}

/// <summary>HOST:PORT as people write it, with an IPv6 address in brackets.</summary>
internal static class HostPort
{
    public static string Format(string host, int port) => host.Contains(':', StringComparison.Ordinal) ? $"[{host}]:{port}" : $"{host}:{port}";
}

/// <summary>Everything the command line decides.</summary>
internal sealed record ClientOptions
{
    /// <summary>-4 or -6; null lets the server's address decide.</summary>
    public AddressFamily? Family { get; init; }

    /// <summary>-T: the T-STUN server's host name or address.</summary>
    public string ServerHost { get; init; } = "";

    /// <summary>-P: the T-STUN server's port.</summary>
    public int ServerPort { get; init; } = TStun.DefaultPort;

    /// <summary>-H: the local address to bind; null for any.</summary>
    public IPAddress? Bind { get; init; }

    public RelayMode Mode { get; init; } = RelayMode.Both;

    /// <summary>The pairing phrase; null means generate one and print it.</summary>
    public string? Key { get; init; }

    /// <summary>How long to keep trying the simultaneous open.</summary>
    public TimeSpan PunchTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long to wait for the partner: long enough to pass a generated KEY on by phone. Servers
    /// end a wait sooner (ours at 30 s by default, the original at 30 s); the client then registers again.
    /// </summary>
    public TimeSpan WaitTimeout { get; init; } = TimeSpan.FromMinutes(10);

    public Forward? Forward { get; init; }

    public bool Verbose { get; init; }

    /// <summary>-q: no live progress line.</summary>
    public bool Quiet { get; init; }

    /// <summary>--plain: the original client's key and no secure channel, to meet the original punchhole.</summary>
    public bool Plain { get; init; }

    /// <summary>--no-relay: never continue through the T-STUN server's relay, even where no direct path exists.</summary>
    public bool NoRelay { get; init; }

    /// <summary>"IPv4 (-4)" or "IPv6 (-6)", for messages.</summary>
    public static string Describe(AddressFamily family) => family == AddressFamily.InterNetwork ? "IPv4 (-4)" : "IPv6 (-6)";
}
