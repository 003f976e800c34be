using System.Runtime.InteropServices;

namespace Punchhole.Server;

/// <summary>How one step of a relayed session went.</summary>
internal enum RelayStep
{
    /// <summary>Nothing moved: every source is drained or every pipe full, until the next event.</summary>
    Idle,

    /// <summary>Bytes moved, or a half-close was passed on: step again.</summary>
    Progress,

    /// <summary>A leg failed (reset, or a write to a leg that is gone): abort both.</summary>
    Failed,

    /// <summary>The session went past its byte cap.</summary>
    BytesCapped,
}

/// <summary>One direction of a relayed session: a pipe from one leg's socket to the other's.</summary>
internal struct RelayDirection
{
    public int PipeRead;
    public int PipeWrite;

    /// <summary>The pipe's capacity: one page while idle, up to 1 MiB while a transfer keeps it full.</summary>
    public int Capacity;

    /// <summary>The kernel refused to grow the pipe (the user's pipe page budget); not asked again until the next sweep.</summary>
    public bool GrowRefused;

    /// <summary>Bytes read in this direction since the engine's last sweep: 64 KiB makes it busy (its pipe grows); none, idle (it shrinks back).</summary>
    public long Recent;

    /// <summary>Bytes in the pipe, read from the source and not yet written to the destination.</summary>
    public int Buffered;

    /// <summary>The source sent its FIN.</summary>
    public bool SourceEnded;

    /// <summary>The FIN was passed on: shutdown(SHUT_WR) on the destination.</summary>
    public bool Shut;

    /// <summary>Both ends closed already, or never opened.</summary>
    public readonly bool Done => SourceEnded && Buffered == 0 && Shut;
}

/// <summary>
/// Two joined relay legs and the two pipes between them; owned by the relay engine's thread from
/// its start to its end. A few hundred bytes: the pipes' pages are kernel memory, and an idle
/// pipe holds no data pages and counts one page against the user's pipe budget.
/// </summary>
internal sealed class RelaySession(ClientSession first, ClientSession second, int slot, uint generation, long startedAt)
{
    public ClientSession First { get; } = first;

    public ClientSession Second { get; } = second;

    /// <summary>The session's place in the engine's table; with <see cref="Generation"/>, its epoll token.</summary>
    public int Slot { get; } = slot;

    public uint Generation { get; } = generation;

    public long StartedAt { get; } = startedAt;

    public SafeHandle? FirstHandle;
    public SafeHandle? SecondHandle;
    public int FirstFd = -1;
    public int SecondFd = -1;

    public RelayDirection Forward = new() { PipeRead = -1, PipeWrite = -1 };
    public RelayDirection Backward = new() { PipeRead = -1, PipeWrite = -1 };

    /// <summary>Bytes read from either leg so far.</summary>
    public long Bytes;

    /// <summary>Waiting for the bandwidth ceiling (in the engine's throttled list).</summary>
    public bool Throttled;

    public bool Ended;

    /// <summary>The token epoll reports this session's events with; bit 0 tells the second leg.</summary>
    public ulong EventToken(bool second) => ((ulong)Generation << 32) | ((uint)Slot << 1) | (second ? 1u : 0u);
}
