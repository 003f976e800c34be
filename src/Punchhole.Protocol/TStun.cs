namespace Punchhole.Protocol;

/// <summary>Constants of the T-STUN rendezvous protocol (see docs/PROTOCOL.md).</summary>
public static class TStun
{
    /// <summary>The well-known rendezvous port.</summary>
    public const int DefaultPort = 3477;

    /// <summary>A key is exactly this many raw bytes on the wire.</summary>
    public const int KeyLength = SessionKey.Length;

    /// <summary>The longest reply: a 46-character address, a space and a 5-digit port.</summary>
    public const int MaxReplyLength = IpAddressText.MaxLength + 1 + 5;
}
