using Punchhole.Secure.Sodium;

namespace Punchhole.Secure.Handshake;

/// <summary>
/// What a successful handshake yields: this side's role and one key per direction, and when this
/// side offers AES-256-GCM, one more key per direction for after the switch.
/// </summary>
internal sealed class SessionKeys : IDisposable
{
    private readonly byte[] _send;
    private readonly byte[] _receive;
    private readonly byte[]? _aesSend;
    private readonly byte[]? _aesReceive;

    public SessionKeys(HandshakeRole role, byte[] send, byte[] receive, byte[]? aesSend = null, byte[]? aesReceive = null)
    {
        if ((aesSend is null) != (aesReceive is null))
        {
            throw new ArgumentException("Both AES-256-GCM keys, or neither.", nameof(aesReceive));
        }
        Role = role;
        _send = send;
        _receive = receive;
        _aesSend = aesSend;
        _aesReceive = aesReceive;
    }

    public HandshakeRole Role { get; }

    /// <summary>The key of the records this side sends.</summary>
    public ReadOnlySpan<byte> SendKey => _send;

    /// <summary>The key of the records this side receives.</summary>
    public ReadOnlySpan<byte> ReceiveKey => _receive;

    /// <summary>True when this side offers AES-256-GCM: the two keys below exist.</summary>
    public bool OffersAesGcm => _aesSend is not null;

    /// <summary>The AES-256-GCM key of the records this side sends after its switch; empty when not offered.</summary>
    public ReadOnlySpan<byte> AesSendKey => _aesSend;

    /// <summary>The AES-256-GCM key of the records this side receives after the peer's switch; empty when not offered.</summary>
    public ReadOnlySpan<byte> AesReceiveKey => _aesReceive;

    public void Dispose()
    {
        Secret.Wipe(_send);
        Secret.Wipe(_receive);
        if (_aesSend is not null)
        {
            Secret.Wipe(_aesSend);
            Secret.Wipe(_aesReceive);
        }
    }
}
