using System.Net.Sockets;
using Microsoft.Extensions.ObjectPool;
using Punchhole.Protocol;

namespace Punchhole.Server.Proxy;

/// <summary>
/// --proxy-protocol: which sources may speak it (--trusted-proxy), and the reads of their headers.
/// Made only when the option is on, so without it no connection pays anything for it.
/// </summary>
internal sealed class ProxyProtocol
{
    private readonly AddressBlock[] _trusted;
    private readonly ObjectPool<ProxyHeaderRead> _reads;

    public ProxyProtocol(IReadOnlyList<AddressBlock> trusted)
    {
        _trusted = [.. trusted];
        _reads = new DefaultObjectPool<ProxyHeaderRead>(new ReadPolicy(this), maximumRetained: 1024);
    }

    /// <summary>True when <paramref name="source"/> (the connection's own address) is a trusted proxy.</summary>
    public bool Trusts(in PeerAddress source)
    {
        foreach (var block in _trusted)
        {
            if (block.Contains(source))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>Reads the header at the start of <paramref name="socket"/>, then hands the outcome to <paramref name="session"/>.</summary>
    public void ReadHeader(ClientSession session, Socket socket) => _reads.Get().Start(session, socket);

    internal void Return(ProxyHeaderRead read) => _reads.Return(read);

    private sealed class ReadPolicy(ProxyProtocol owner) : PooledObjectPolicy<ProxyHeaderRead>
    {
        public override ProxyHeaderRead Create() => new(owner);

        public override bool Return(ProxyHeaderRead read) => true;
    }
}
