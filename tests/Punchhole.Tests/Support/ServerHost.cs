using System.Net;
using Punchhole.Server;

namespace Punchhole.Tests.Support;

/// <summary>A tstun server in the test process, on an ephemeral loopback port (or [::] for dual-stack tests).</summary>
internal sealed class ServerHost : IDisposable
{
    private readonly StringWriter _log = new();

    public ServerHost(ServerOptions? options = null)
    {
        options ??= new ServerOptions();
        options = options with
        {
            Port = 0,
            Bind = options.Bind ?? IPAddress.Loopback,
            StatsInterval = TimeSpan.Zero,
            HeartbeatInterval = TimeSpan.FromMilliseconds(50),
        };
        Server = new RendezvousServer(options, new ServerLog(TextWriter.Synchronized(_log), verbose: true));
        Server.Start();
    }

    public RendezvousServer Server { get; }

    public ServerCounters Counters => Server.Counters;

    public string Log => _log.ToString();

    /// <summary>Where clients connect: the loopback address of the listener's family.</summary>
    public IPEndPoint EndPoint(bool ipv6 = false) => new(
        ipv6 ? IPAddress.IPv6Loopback : IPAddress.Loopback,
        Server.LocalEndPoint!.Port);

    public async Task<RendezvousClient> ConnectAsync(bool ipv6 = false) => await RendezvousClient.ConnectAsync(EndPoint(ipv6));

    /// <summary>Polls <paramref name="condition"/> until it holds or the wait runs out.</summary>
    public static async Task<bool> EventuallyAsync(Func<bool> condition, TimeSpan? wait = null)
    {
        var deadline = DateTime.UtcNow + (wait ?? RendezvousClient.DefaultWait);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                return false;
            }
            await Task.Delay(10);
        }
        return true;
    }

    public void Dispose() => Server.Dispose();
}
