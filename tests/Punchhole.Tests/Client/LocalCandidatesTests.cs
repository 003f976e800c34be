using System.Net;
using Punchhole.Client.Rendezvous;
using Punchhole.NatLab;
using Punchhole.Protocol;
using Punchhole.Protocol.V2;
using Punchhole.Tests.Support;

namespace Punchhole.Tests.Client;

/// <summary>
/// The local candidates a v2 client offers, read from the interfaces of a private network namespace
/// whose addresses the test sets: usable addresses with the punch port, no loopback, link-local or
/// observed address, at most eight, and only the bound address when the port is bound to one.
/// </summary>
public class LocalCandidatesTests
{
    private const int Port = 41234;

    /// <summary>The candidates for <paramref name="local"/>, listed inside the namespace.</summary>
    private static Task<PeerAddress[]> InAsync(LoopbackNamespace ns, IPEndPoint local, IPEndPoint? observed = null) =>
        Task.Run(() => ns.Run(() => LocalCandidates.Of(local, observed)));

    private static string[] Texts(IEnumerable<PeerAddress> candidates) => [.. candidates.Select(c => c.ToString()).Order()];

    /// <summary>A namespace with a veth pair: v0 carries <paramref name="addresses"/>, v1 only its own link-local address.</summary>
    private static LoopbackNamespace WithAddresses(params string[] addresses)
    {
        var ns = LoopbackNamespace.Create();
        try
        {
            Command.Run("ip", ["-n", ns.Name, "link", "add", "v0", "type", "veth", "peer", "name", "v1"]);
            Command.Run("ip", ["-n", ns.Name, "link", "set", "v0", "up"]);
            Command.Run("ip", ["-n", ns.Name, "link", "set", "v1", "up"]);
            foreach (string address in addresses)
            {
                Command.Run("ip", ["-n", ns.Name, "addr", "add", address, "dev", "v0", .. address.Contains(':') ? new[] { "nodad" } : []]);
            }
            return ns;
        }
        catch
        {
            ns.Dispose();
            throw;
        }
    }

    [SkippableFact(Timeout = 30_000)]
    public async Task Every_usable_address_of_the_family_with_the_punch_port_and_nothing_else()
    {
        using var ns = WithAddresses("198.51.100.7/24", "169.254.3.3/16", "100.64.0.9/10", "2001:db8:5::7/64", "fd00:5::7/64");
        Assert.Equal(["100.64.0.9 41234", "198.51.100.7 41234"], Texts(await InAsync(ns, new IPEndPoint(IPAddress.Any, Port))));
        Assert.Equal(["2001:db8:5::7 41234", "fd00:5::7 41234"], Texts(await InAsync(ns, new IPEndPoint(IPAddress.IPv6Any, Port))));
    }

    [SkippableFact(Timeout = 30_000)]
    public async Task The_address_the_server_observed_is_left_out()
    {
        using var ns = WithAddresses("198.51.100.7/24", "100.64.0.9/10");
        var observed = new IPEndPoint(IPAddress.Parse("198.51.100.7"), Port);
        Assert.Equal(["100.64.0.9 41234"], Texts(await InAsync(ns, new IPEndPoint(IPAddress.Any, Port), observed)));
        // The same address from another port is a NAT's port mapping elsewhere, not this socket: kept.
        var mapped = new IPEndPoint(IPAddress.Parse("198.51.100.7"), Port + 1);
        Assert.Equal(2, (await InAsync(ns, new IPEndPoint(IPAddress.Any, Port), mapped)).Length);
    }

    [SkippableFact(Timeout = 30_000)]
    public async Task At_most_eight()
    {
        using var ns = WithAddresses([.. Enumerable.Range(10, 12).Select(i => $"198.51.100.{i}/24")]);
        var candidates = await InAsync(ns, new IPEndPoint(IPAddress.Any, Port));
        Assert.Equal(TStun2.MaxCandidates, candidates.Length);
        Assert.Equal(TStun2.MaxCandidates, candidates.Distinct().Count());
    }

    [Fact(Timeout = 30_000)]
    public async Task A_port_bound_to_one_address_offers_that_address_alone_unless_it_is_loopback()
    {
        await Task.Yield();
        Assert.Equal(["192.0.2.9 41234"], Texts(LocalCandidates.Of(new IPEndPoint(IPAddress.Parse("192.0.2.9"), Port))));
        Assert.Empty(LocalCandidates.Of(new IPEndPoint(IPAddress.Loopback, Port)));
        Assert.Empty(LocalCandidates.Of(new IPEndPoint(IPAddress.Parse("fe80::1"), Port)));
    }
}

/// <summary>The path line names the kind of address the connection reached the peer at.</summary>
public class ConnectionPathTests
{
    [Theory]
    [InlineData("198.51.100.20", 41234, "connected directly over the Internet (198.51.100.20:41234)")]
    [InlineData("100.64.1.2", 5000, "connected directly over the Internet (100.64.1.2:5000)")]
    [InlineData("2001:db8::5", 5000, "connected directly over the Internet ([2001:db8::5]:5000)")]
    [InlineData("10.0.0.5", 41234, "connected directly over the LAN (10.0.0.5:41234)")]
    [InlineData("172.31.9.9", 1, "connected directly over the LAN (172.31.9.9:1)")]
    [InlineData("172.32.0.1", 1, "connected directly over the Internet (172.32.0.1:1)")]
    [InlineData("192.168.1.7", 39001, "connected directly over the LAN (192.168.1.7:39001)")]
    [InlineData("fd00:5::7", 2, "connected directly over the LAN ([fd00:5::7]:2)")]
    [InlineData("127.0.0.1", 3, "connected directly on this host (127.0.0.1:3)")]
    public void Direct(string address, int port, string expected) =>
        Assert.Equal(expected, Punchhole.Client.Punch.ConnectionPath.Direct(new IPEndPoint(IPAddress.Parse(address), port)));
}
