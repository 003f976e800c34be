using System.Net.Sockets;
using Microsoft.Extensions.ObjectPool;
using Punchhole.Protocol;

namespace Punchhole.Server;

/// <summary>
/// The socket event args and buffer a session needs only while it reads its key or sends its
/// reply. Pooled apart from sessions, so the thousands of clients that sit waiting hold none.
/// Completions call straight back into the owning session, with no event delegate.
/// </summary>
internal sealed class SessionIo : SocketAsyncEventArgs
{
    /// <param name="size">
    /// The buffer: <see cref="TStun.MaxReplyLength"/> for v1 (the key as it arrives, then the reply
    /// as it leaves), <see cref="Punchhole.Protocol.V2.TStun2.MaxLineLength"/> for v2's lines.
    /// </param>
    public SessionIo(int size)
        : base(unsafeSuppressExecutionContextFlow: true)
    {
        SetBuffer(new byte[size], 0, TStun.KeyLength);
    }

    public ClientSession? Owner { get; set; }

    public Span<byte> Bytes => MemoryBuffer.Span;

    protected override void OnCompleted(SocketAsyncEventArgs e) => Owner!.OnIoCompleted(this);

    /// <summary>A pool that keeps enough for the connections in flight and lets bursts beyond it go to the GC.</summary>
    public static ObjectPool<SessionIo> CreatePool(int size) => new DefaultObjectPool<SessionIo>(new Policy(size), maximumRetained: 4096);

    private sealed class Policy(int size) : PooledObjectPolicy<SessionIo>
    {
        public override SessionIo Create() => new(size);

        public override bool Return(SessionIo io)
        {
            io.Owner = null;
            return true;
        }
    }
}
