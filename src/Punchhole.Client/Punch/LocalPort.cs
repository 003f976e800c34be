using System.Net;
using System.Net.Sockets;

namespace Punchhole.Client.Punch;

/// <summary>
/// The one local port everything uses: the T-STUN request and every punch attempt bind it, so the
/// NAT mapping the server observed is the one the peer aims at. A bound, idle socket holds it
/// between attempts so no other program takes it.
/// </summary>
internal sealed class LocalPort : IDisposable
{
    private readonly Socket _holder;
    private volatile Func<Socket, bool>? _divert;

    private LocalPort(Socket holder)
    {
        _holder = holder;
        EndPoint = (IPEndPoint)holder.LocalEndPoint!;
        Arrivals = new PortArrivals(this);
    }

    public IPEndPoint EndPoint { get; }

    /// <summary>The connections accepted on the port, each handed to the punch that waits for its remote endpoint.</summary>
    public PortArrivals Arrivals { get; }

    public static LocalPort Reserve(IPAddress? bind, AddressFamily family)
    {
        var address = bind ?? (family == AddressFamily.InterNetwork ? IPAddress.Any : IPAddress.IPv6Any);
        if (address.AddressFamily != family)
        {
            throw new ClientFailure($"the bind address {address} is not {ClientOptions.Describe(family)}");
        }
        try
        {
            return new LocalPort(NewSocket(new IPEndPoint(address, 0)));
        }
        catch (SocketException e)
        {
            throw new ClientFailure($"cannot bind {address}: {ErrorText.Of(e)}");
        }
    }

    /// <summary>A TCP socket bound to <paramref name="local"/>, sharing it through SO_REUSEADDR as the original does.</summary>
    public static Socket NewSocket(IPEndPoint local)
    {
        var socket = new Socket(local.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (local.AddressFamily == AddressFamily.InterNetworkV6)
            {
                socket.DualMode = false;
            }
            // On Linux .NET sets SO_REUSEPORT with this as well as SO_REUSEADDR. The punch needs it:
            // SO_REUSEADDR alone cannot bind a port another socket listens on (our listener).
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            socket.NoDelay = true;
            socket.Bind(local);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Starts listening on the port, so a peer SYN that finds no SYN of ours in flight is accepted, not reset.</summary>
    public void Listen() => _holder.Listen(4);

    /// <summary>
    /// The next connection to the port, except those <see cref="Divert"/> takes: they go to the taker,
    /// whoever accepts.
    /// </summary>
    public async ValueTask<Socket> AcceptAsync(CancellationToken cancel)
    {
        while (true)
        {
            var socket = await _holder.AcceptAsync(cancel).ConfigureAwait(false);
            if (_divert is not { } take || !take(socket))
            {
                return socket;
            }
        }
    }

    /// <summary>
    /// Hands every accepted connection to <paramref name="take"/> first, which keeps it by returning
    /// true (the peer's local addresses, for the candidate race); null ends that.
    /// </summary>
    public void Divert(Func<Socket, bool>? take) => _divert = take;

    public void Dispose() => _holder.Dispose();
}
