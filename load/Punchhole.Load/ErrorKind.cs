using System.Net.Sockets;

namespace Punchhole.Load;

/// <summary>Why a pairing (or a lonely client) failed. Each failed attempt counts once, under its first cause.</summary>
internal enum ErrorKind
{
    /// <summary>connect() was refused: nothing listens, or the listen backlog overflowed.</summary>
    Refused,

    /// <summary>The connection was reset (RST) or broke while in use.</summary>
    Reset,

    /// <summary>The attempt did not finish within its deadline (--timeout, or --lonely-wait).</summary>
    Timeout,

    /// <summary>The server closed the connection with no reply.</summary>
    NoReply,

    /// <summary>The reply was not <c>ADDR PORT</c>, or longer than the protocol allows.</summary>
    BadReply,

    /// <summary>The reply parsed but named someone other than the partner.</summary>
    WrongAddress,

    /// <summary>A client whose key nobody else had was given an address: a pairing it had no part in.</summary>
    UnpairedGotReply,

    /// <summary>No local port was left for the source address (EADDRNOTAVAIL): use more --sources.</summary>
    NoSourcePort,

    /// <summary>This process ran out of descriptors (EMFILE/ENFILE).</summary>
    TooManyFiles,

    /// <summary>Not started: the ramp already had --max-in-flight pairings open.</summary>
    Overload,

    /// <summary>Cut short by the end of the run (its hard deadline), not by the server.</summary>
    Unfinished,

    /// <summary>Any other socket error.</summary>
    Other,
}

internal static class ErrorKinds
{
    public static readonly int Count = Enum.GetValues<ErrorKind>().Length;

    /// <summary>The name used in reports: lower case with underscores, e.g. <c>wrong_address</c>.</summary>
    public static string Name(ErrorKind kind) => kind switch
    {
        ErrorKind.Refused => "refused",
        ErrorKind.Reset => "reset",
        ErrorKind.Timeout => "timeout",
        ErrorKind.NoReply => "no_reply",
        ErrorKind.BadReply => "bad_reply",
        ErrorKind.WrongAddress => "wrong_address",
        ErrorKind.UnpairedGotReply => "unpaired_got_reply",
        ErrorKind.NoSourcePort => "no_source_port",
        ErrorKind.TooManyFiles => "too_many_files",
        ErrorKind.Overload => "overload",
        ErrorKind.Unfinished => "unfinished",
        _ => "other",
    };

    /// <summary>What a socket error means for an attempt; <paramref name="abortedFor"/> is why the watchdog aborted it, if it did.</summary>
    public static ErrorKind FromSocketError(SocketError error, ErrorKind? abortedFor) => error switch
    {
        _ when abortedFor is { } reason => reason,
        SocketError.ConnectionRefused => ErrorKind.Refused,
        SocketError.ConnectionReset or SocketError.ConnectionAborted or SocketError.Shutdown or SocketError.NotConnected => ErrorKind.Reset,
        SocketError.TimedOut => ErrorKind.Timeout,
        SocketError.AddressNotAvailable or SocketError.AddressAlreadyInUse => ErrorKind.NoSourcePort,
        SocketError.TooManyOpenSockets => ErrorKind.TooManyFiles,
        SocketError.OperationAborted => ErrorKind.Unfinished,
        _ => ErrorKind.Other,
    };
}
