using Punchhole.Protocol;

namespace Punchhole.Server;

/// <summary>
/// Counts open connections per client source (--max-per-ip): an IPv4 address, or an IPv6 /64,
/// since a site holds a whole /64 and may use every address in it. Taken only at accept (or once
/// the PROXY header has named the client) and at close, never on the pairing path, and only when
/// the operator sets a limit.
/// </summary>
internal sealed class PerAddressLimit(int limit)
{
    private readonly Dictionary<PeerAddress, int> _open = [];
    private readonly Lock _gate = new();

    public bool Enabled => limit > 0;

    /// <summary>Counts one more connection from <paramref name="client"/>; false (and nothing counted) past the limit.</summary>
    public bool TryEnter(in PeerAddress client)
    {
        var host = client.SourceBlock();
        lock (_gate)
        {
            _open.TryGetValue(host, out int open);
            if (open >= limit)
            {
                return false;
            }
            _open[host] = open + 1;
            return true;
        }
    }

    public void Leave(in PeerAddress client)
    {
        var host = client.SourceBlock();
        lock (_gate)
        {
            if (_open.TryGetValue(host, out int open))
            {
                if (open <= 1)
                {
                    _open.Remove(host);
                }
                else
                {
                    _open[host] = open - 1;
                }
            }
        }
    }
}
