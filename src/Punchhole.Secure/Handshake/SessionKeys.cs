using Punchhole.Secure.Sodium;

namespace Punchhole.Secure.Handshake;

/// <summary>What a successful handshake yields: this side's role and one key per direction.</summary>
internal sealed class SessionKeys : IDisposable
{
    private readonly byte[] _send;
    private readonly byte[] _receive;

    public SessionKeys(HandshakeRole role, byte[] send, byte[] receive)
    {
        Role = role;
        _send = send;
        _receive = receive;
    }

    public HandshakeRole Role { get; }

    /// <summary>The key of the records this side sends.</summary>
    public ReadOnlySpan<byte> SendKey => _send;

    /// <summary>The key of the records this side receives.</summary>
    public ReadOnlySpan<byte> ReceiveKey => _receive;

    public void Dispose()
    {
        Secret.Wipe(_send);
        Secret.Wipe(_receive);
    }
}
