using System.Net.Sockets;
using Punchhole.Client.Platform;
using Punchhole.Secure;

namespace Punchhole.Client;

/// <summary>
/// Socket and I/O errors in plain English, in one place: the phrase for each SocketError and
/// errno the client meets, and the sentence that says which side failed. Runtime messages only
/// fill in for codes not listed (the published binary keeps the runtime's English messages, not
/// resource keys, so even those are readable).
/// </summary>
internal static class ErrorText
{
    /// <summary>A short phrase for a socket error: "connection refused".</summary>
    public static string Of(SocketError error) => error switch
    {
        SocketError.ConnectionRefused => "connection refused",
        SocketError.ConnectionReset => "connection reset",
        SocketError.ConnectionAborted => "connection aborted",
        SocketError.Shutdown => "the connection was already closed",
        SocketError.NotConnected => "not connected",
        SocketError.TimedOut => "no answer (timed out)",
        SocketError.HostUnreachable => "host unreachable",
        SocketError.HostDown => "host down",
        SocketError.NetworkUnreachable => "network unreachable",
        SocketError.NetworkDown => "network down",
        SocketError.NetworkReset => "network reset",
        SocketError.AddressAlreadyInUse => "the address is already in use",
        SocketError.AddressNotAvailable => "the address is not available on this host",
        SocketError.AddressFamilyNotSupported => "that address family is not supported here (is IPv6 enabled?)",
        SocketError.AccessDenied => "permission denied",
        SocketError.HostNotFound => "no such host",
        SocketError.TryAgain => "the name server did not answer; try again",
        SocketError.NoRecovery => "the name server failed",
        SocketError.NoData => "the name has no address of the requested family",
        SocketError.TooManyOpenSockets => "too many open files",
        SocketError.NoBufferSpaceAvailable => "no buffer space available",
        SocketError.OperationAborted => "aborted",
        SocketError.InvalidArgument => "invalid argument",
        _ => Words(error.ToString()),
    };

    /// <summary>A short phrase for any failure of a socket or a stream.</summary>
    public static string Of(Exception e) => e switch
    {
        SocketException s => Of(s.SocketErrorCode),
        IOException { InnerException: SocketException s } => Of(s.SocketErrorCode),
        UnauthorizedAccessException => "it is closed",
        ObjectDisposedException or OperationCanceledException => "aborted",
        IOException io when OperatingSystem.IsLinux() && Errno(io.HResult) is { } phrase => phrase,
        _ => OneLine(e.Message),
    };

    /// <summary>
    /// The sentence for a relay failure on one side: "the peer reset the connection",
    /// "writing to stdout failed: its reader has gone (broken pipe)".
    /// </summary>
    public static string Failure(string side, bool reading, Exception e)
    {
        var socketError = e switch
        {
            SocketException s => s.SocketErrorCode,
            IOException { InnerException: SocketException s } => s.SocketErrorCode,
            _ => (SocketError?)null,
        };
        return socketError switch
        {
            SocketError.ConnectionReset or SocketError.ConnectionAborted or SocketError.Shutdown => $"{side} reset the connection",
            SocketError.TimedOut => $"the connection to {side} timed out: its host stopped answering",
            SocketError.HostUnreachable or SocketError.NetworkUnreachable or SocketError.HostDown or SocketError.NetworkDown
                => $"{side} became unreachable ({Of(socketError.Value)})",
            { } other => $"the connection to {side} failed: {Of(other)}",
            null when e is SecureChannelException secure => secure.Message,
            null when e is DeliveryStalledException stalled
                => $"{side} stopped acknowledging what we sent: {stalled.Unacknowledged} bytes were never confirmed",
            null when e is ObjectDisposedException or OperationCanceledException => $"the connection to {side} was aborted",
            null => $"{(reading ? "reading" : "writing to")} {side} failed: {Of(e)}",
        };
    }

    /// <summary>The text on one line, for messages built from text we do not control.</summary>
    public static string OneLine(string text) => string.Join(' ', text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries)).TrimEnd('.');

    /// <summary>The errno values stdin and stdout meet (IOException carries the errno as its HResult on Linux).</summary>
    private static string? Errno(int errno) => errno switch
    {
        5 => "input/output error",
        9 => "it is closed",
        11 => "it is in non-blocking mode",
        13 => "permission denied",
        21 => "it is a directory",
        27 => "the file is too large",
        28 => "no space left on the device",
        32 => "its reader has gone (broken pipe)",
        104 => "connection reset",
        122 => "disk quota exceeded",
        _ => null,
    };

    /// <summary>"HostUnreachable" to "host unreachable", for codes without a phrase of their own.</summary>
    private static string Words(string name)
    {
        var text = new System.Text.StringBuilder(name.Length + 8);
        foreach (char c in name)
        {
            if (char.IsUpper(c) && text.Length > 0)
            {
                text.Append(' ');
            }
            text.Append(char.ToLowerInvariant(c));
        }
        return text.ToString();
    }
}
