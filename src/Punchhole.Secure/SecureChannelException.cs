namespace Punchhole.Secure;

/// <summary>Why the secure channel failed; each has one line of English for the user.</summary>
internal enum SecureFailure
{
    /// <summary>The confirmation did not verify: wrong code, or a party in between.</summary>
    AuthenticationFailed,

    /// <summary>The other side sent something that is not a secure hello (plain mode, the original client, not punchhole).</summary>
    NotSecurePeer,

    /// <summary>The other side speaks another version of the secure protocol.</summary>
    VersionMismatch,

    /// <summary>The handshake did not finish before its deadline.</summary>
    HandshakeTimedOut,

    /// <summary>The connection closed before the other side's hello arrived.</summary>
    ClosedDuringHandshake,

    /// <summary>The connection ended (FIN or reset) without the other side's final record.</summary>
    EndedEarly,

    /// <summary>A record failed authentication: altered, reordered, replayed or injected.</summary>
    Tampered,

    /// <summary>The authenticated peer broke the framing rules (a bug or a different implementation).</summary>
    ProtocolViolation,

    /// <summary>The other side stopped the session on purpose (for example it was interrupted).</summary>
    PeerAborted,

    /// <summary>The other side reset one multiplexed stream.</summary>
    StreamReset,

    /// <summary>This side closed the session or stream, so it can no longer be used.</summary>
    Closed,
}

/// <summary>
/// The secure channel failed. An <see cref="IOException"/> so that relay code that already reports
/// I/O failures reports these too; the message is one line meant for the user as it is.
/// </summary>
internal class SecureChannelException : IOException
{
    public SecureChannelException(SecureFailure reason, string message, Exception? inner = null)
        : base(message, inner)
    {
        Reason = reason;
    }

    public SecureFailure Reason { get; }

    internal static SecureChannelException Tampered() =>
        new(SecureFailure.Tampered, "the connection was tampered with: a record failed authentication; nothing after it was used");

    internal static SecureChannelException Violation(string what) =>
        new(SecureFailure.ProtocolViolation, $"the other side broke the secure protocol: {what}");
}

/// <summary>
/// The PAKE's key confirmation failed, or an invalid element arrived: the other side does not
/// know the code, or someone is in between. No application byte was sent.
/// </summary>
internal sealed class AuthenticationFailedException : SecureChannelException
{
    public const string Text =
        "authentication failed: the other side does not know the code, or someone is in between; nothing was sent";

    public AuthenticationFailedException()
        : base(SecureFailure.AuthenticationFailed, Text)
    {
    }
}

/// <summary>
/// The connection ended without the other side's authenticated end of stream: whatever arrived
/// is authentic but may be incomplete.
/// </summary>
internal sealed class TransferEndedEarlyException : SecureChannelException
{
    public const string Text = "the transfer ended early";

    public TransferEndedEarlyException(string? detail = null, Exception? inner = null)
        : base(SecureFailure.EndedEarly, detail is null ? Text : $"{Text}: {detail}", inner)
    {
    }
}
