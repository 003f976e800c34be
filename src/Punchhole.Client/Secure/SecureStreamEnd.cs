using Punchhole.Client.Relay;
using Punchhole.Secure.Mux;

namespace Punchhole.Client.Secure;

/// <summary>
/// One stream of the secure session as a relay end: what the relay writes is sealed into records,
/// what it reads was opened and authenticated. The end of the data is the stream's FIN, itself
/// authenticated; whether everything arrived is settled when the session closes (both final records).
/// </summary>
/// <param name="stream">The stream, which this end disposes.</param>
/// <param name="name">What messages call the peer.</param>
/// <param name="chunkSize">How many bytes the relay should move per read or write: by default four records' worth.</param>
internal sealed class SecureStreamEnd(MuxStream stream, string name, int chunkSize = MuxStream.PreferredWriteSize) : RelayEnd
{
    private ReadOnlyMemory<byte> _ending;
    private ValueTask _endingWrite;

    public override string SourceName => name;

    public override string SinkName => name;

    /// <summary>Whole records: a write becomes whole records, handed to the session's writer in one go.</summary>
    public override int ChunkSize => chunkSize;

    public override ValueTask<int> ReadAsync(Memory<byte> buffer) => stream.ReadAsync(buffer);

    public override bool EndIsNext => stream.EndIsNext;

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> data) => stream.WriteAsync(data);

    /// <summary>Held until <see cref="EndWriting"/>, which sends it with the FIN, in one record; the relay leaves the buffer alone until then.</summary>
    public override ValueTask WriteEndingAsync(ReadOnlyMemory<byte> data)
    {
        _ending = data;
        return ValueTask.CompletedTask;
    }

    public override void EndWriting()
    {
        if (_ending.IsEmpty)
        {
            stream.CompleteWrites();
            return;
        }
        _endingWrite = stream.WriteAsync(_ending, complete: true);
        _ending = default;
    }

    /// <summary>Only the last write, if it went with the FIN: the session's close confirms delivery of every stream.</summary>
    public override async Task ConfirmDeliveredAsync() => await _endingWrite.ConfigureAwait(false);

    public override void Abort() => stream.Reset();

    public override void Dispose() => stream.Dispose();
}
