using System.Net;
using System.Net.Sockets;
using Punchhole.Client.Relay;

namespace Punchhole.Client.Forwarding;

/// <summary>-R: the service at HOST:PORT, resolved before the rendezvous (a typo fails at once) and connected to once the hole is punched.</summary>
internal sealed class ServiceTarget
{
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(10);

    private readonly ConnectForward _forward;
    private readonly IPAddress[] _addresses;

    private ServiceTarget(ConnectForward forward, IPAddress[] addresses) => (_forward, _addresses) = (forward, addresses);

    public string Name => $"the service at {_forward}";

    public static async Task<ServiceTarget> ResolveAsync(ConnectForward forward) =>
        new(forward, await HostResolver.ResolveAsync(forward.Host, null, "the -R service").ConfigureAwait(false));

    /// <summary>Connects to each address in turn; the first that answers is the relay's local end.</summary>
    public async Task<SocketEnd> ConnectAsync()
    {
        string? why = null;
        foreach (var address in _addresses)
        {
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                using var timeout = new CancellationTokenSource(ConnectTimeout);
                await socket.ConnectAsync(new IPEndPoint(address, _forward.Port), timeout.Token).ConfigureAwait(false);
                return new SocketEnd(socket, Name);
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException)
            {
                socket.Dispose();
                why = e is SocketException s ? ErrorText.Of(s) : $"no answer within {ConnectTimeout.TotalSeconds:0} s";
            }
        }
        throw new ClientFailure($"cannot connect to {Name}: {why}; the connection to the peer was reset");
    }
}
