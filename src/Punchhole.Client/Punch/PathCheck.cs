using Punchhole.Protocol;

namespace Punchhole.Client.Punch;

/// <summary>
/// The three messages with which two secure T-STUN/2 clients agree on one of the connections their
/// race brought up (docs/PROTOCOL.md, "Choosing one connection"), before the secure handshake runs
/// on it:
/// <code>
///   check     controlling -> controlled   "PH?1" || tag   12 bytes, on every connection that comes up
///   answer    controlled -> controlling   "PH!1" || tag   12 bytes, on each connection a valid check came on
///   nominate  controlling -> controlled   "PH=1"           4 bytes, on the one connection chosen
/// </code>
/// The tag is bytes 8 to 15 of the v2 rendezvous key, which both sides hold: it is not secret (the
/// key crosses the network in the clear), it only keeps a stray host or another session from being
/// taken for the peer. Authentication is the handshake's job.
/// </summary>
internal sealed class PathCheck
{
    public const int CheckLength = 12;
    public const int NominateLength = 4;
    private const int TagOffset = 8;
    private const int TagLength = 8;

    private readonly byte[] _check = new byte[CheckLength];
    private readonly byte[] _answer = new byte[CheckLength];

    public PathCheck(SessionKey key)
    {
        Span<byte> bytes = stackalloc byte[SessionKey.Length];
        key.CopyTo(bytes);
        "PH?1"u8.CopyTo(_check);
        "PH!1"u8.CopyTo(_answer);
        bytes.Slice(TagOffset, TagLength).CopyTo(_check.AsSpan(4));
        bytes.Slice(TagOffset, TagLength).CopyTo(_answer.AsSpan(4));
    }

    public ReadOnlyMemory<byte> Check => _check;

    public ReadOnlyMemory<byte> Answer => _answer;

    public static ReadOnlyMemory<byte> Nominate { get; } = "PH=1"u8.ToArray();

    public bool IsCheck(ReadOnlySpan<byte> received) => received.SequenceEqual(_check);

    public bool IsAnswer(ReadOnlySpan<byte> received) => received.SequenceEqual(_answer);

    public static bool IsNominate(ReadOnlySpan<byte> received) => received.SequenceEqual(Nominate.Span);
}
