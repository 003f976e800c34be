using Punchhole.Client.Relay;
using Punchhole.Secure.Mux;

namespace Punchhole.Client.Secure;

/// <summary>
/// One stream of the secure session as a relay end: what the relay writes is sealed into records,
/// what it reads was opened and authenticated. The end of the data is the stream's FIN, itself
/// authenticated; whether everything arrived is settled when the session closes (both final records).
/// </summary>
internal sealed class SecureStreamEnd(MuxStream stream, string name) : RelayEnd
{
    public override string SourceName => name;

    public override string SinkName => name;

    public override ValueTask<int> ReadAsync(Memory<byte> buffer) => stream.ReadAsync(buffer);

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> data) => stream.WriteAsync(data);

    public override void EndWriting() => stream.CompleteWrites();

    /// <summary>Nothing to wait for here: the session's close confirms delivery of every stream.</summary>
    public override Task ConfirmDeliveredAsync() => Task.CompletedTask;

    public override void Abort() => stream.Reset();

    public override void Dispose() => stream.Dispose();
}
