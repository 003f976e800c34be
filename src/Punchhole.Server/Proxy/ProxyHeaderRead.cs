using System.Net.Sockets;
using Punchhole.Protocol;

namespace Punchhole.Server.Proxy;

/// <summary>
/// One PROXY header being read: the pre-key phase of a session. It consumes exactly the header and
/// not one byte more, so the key (and whatever a client sends after it) is read by the session as
/// if the header had never been there. Each pass peeks at what has arrived and parses it: a
/// complete header is then consumed (one recv of exactly its length); an incomplete one is all
/// header, so it is consumed and kept, and a zero-byte receive waits for more. The usual case, a
/// header that arrives whole with the key (a proxy sends it at once, and TCP_DEFER_ACCEPT holds the
/// connection until it is in), is one peek and one recv. Pooled; the session's key deadline covers
/// the header too, and the heartbeat ends a read that takes too long by closing its socket.
/// </summary>
internal sealed class ProxyHeaderRead : SocketAsyncEventArgs
{
    private readonly ProxyProtocol _owner;
    private readonly byte[] _header = new byte[ProxyHeader.MaxLength];
    private ClientSession? _session;
    private Socket? _socket;
    private int _consumed;

    public ProxyHeaderRead(ProxyProtocol owner)
        : base(unsafeSuppressExecutionContextFlow: true) => _owner = owner;

    public void Start(ClientSession session, Socket socket)
    {
        _session = session;
        _socket = socket;
        _consumed = 0;
        Continue();
    }

    private void Continue()
    {
        while (true)
        {
            var error = NonBlockingIo.Peek(_socket!, _header.AsSpan(_consumed), out int peeked);
            if (error == SocketError.WouldBlock)
            {
                if (WaitForBytes())
                {
                    return;
                }
                continue;
            }
            if (error != SocketError.Success || peeked == 0)
            {
                // EOF or a reset. Before any byte, the proxy's own connection (a health check that
                // connects and closes); after some, a partial header, which the specification refuses.
                if (_consumed == 0)
                {
                    Finish(ProxyHeaderStatus.Local, default, null);
                }
                else
                {
                    Finish(ProxyHeaderStatus.Invalid, default, "closed before its PROXY header was complete");
                }
                return;
            }
            int seen = _consumed + peeked;
            var status = ProxyHeader.Parse(_header.AsSpan(0, seen), out int length, out var source);
            // Incomplete: all of it is header. Otherwise exactly the header's length is.
            int take = status == ProxyHeaderStatus.Incomplete ? seen : status == ProxyHeaderStatus.Invalid ? 0 : length;
            if (take > _consumed)
            {
                error = NonBlockingIo.Receive(_socket!, _header.AsSpan(_consumed, take - _consumed), out int received);
                if (error != SocketError.Success || received != take - _consumed)
                {
                    Finish(ProxyHeaderStatus.Invalid, default, "lost while its PROXY header was read");
                    return;
                }
                _consumed = take;
            }
            if (status != ProxyHeaderStatus.Incomplete)
            {
                Finish(status, source, "a malformed PROXY header");
                return;
            }
        }
    }

    /// <summary>Waits for more bytes without taking any; false when the wait completed at once.</summary>
    private bool WaitForBytes()
    {
        SetBuffer(_header, _consumed, 0);
        try
        {
            if (_socket!.ReceiveAsync(this))
            {
                return true;
            }
        }
        catch (ObjectDisposedException)
        {
            // The heartbeat or Stop closed it: the session sees its phase already moved.
            Finish(ProxyHeaderStatus.Invalid, default, "aborted while reading its PROXY header");
            return true;
        }
        if (SocketError != SocketError.Success)
        {
            Finish(ProxyHeaderStatus.Invalid, default, "lost while its PROXY header was read");
            return true;
        }
        return false;
    }

    protected override void OnCompleted(SocketAsyncEventArgs e)
    {
        if (SocketError != SocketError.Success)
        {
            Finish(ProxyHeaderStatus.Invalid, default, "lost while its PROXY header was read");
            return;
        }
        Continue();
    }

    /// <summary>Back to the pool first (the session may be recycled by what follows), then the outcome to the session.</summary>
    private void Finish(ProxyHeaderStatus status, PeerAddress source, string? why)
    {
        var session = _session!;
        _session = null;
        _socket = null;
        _owner.Return(this);
        session.OnProxyHeader(status, source, why);
    }
}
