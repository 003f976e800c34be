namespace Punchhole.Client.Relay;

/// <summary>
/// An end whose first reads return bytes received before the relay began (what the peer sent
/// while -L waited for its local connection, e.g. an SSH server's banner), then the error that
/// ended that reading if there was one (a reset), else read on as usual.
/// </summary>
internal sealed class PrefixedEnd(RelayEnd inner, ReadOnlyMemory<byte> prefix, Exception? error) : RelayEnd
{
    private ReadOnlyMemory<byte> _prefix = prefix;

    public override string SourceName => inner.SourceName;

    public override string SinkName => inner.SinkName;

    public override ValueTask<int> ReadAsync(Memory<byte> buffer)
    {
        if (_prefix.IsEmpty)
        {
            return error is null ? inner.ReadAsync(buffer) : ValueTask.FromException<int>(error);
        }
        int n = Math.Min(buffer.Length, _prefix.Length);
        _prefix[..n].CopyTo(buffer);
        _prefix = _prefix[n..];
        return ValueTask.FromResult(n);
    }

    public override bool EndIsNext => _prefix.IsEmpty && error is null && inner.EndIsNext;

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> data) => inner.WriteAsync(data);

    public override ValueTask WriteEndingAsync(ReadOnlyMemory<byte> data) => inner.WriteEndingAsync(data);

    public override void EndWriting() => inner.EndWriting();

    public override Task ConfirmDeliveredAsync() => inner.ConfirmDeliveredAsync();

    public override void Abort() => inner.Abort();

    public override void Dispose() => inner.Dispose();
}
