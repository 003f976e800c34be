namespace Punchhole.Client.Relay;

/// <summary>
/// One of the two things a relay joins, each readable and writable: the punched connection, or
/// the local side (stdin and stdout, or a forwarded TCP connection). The secure channel will be
/// one more. Reads return 0 at EOF; failures are exceptions, which the relay turns into a
/// <see cref="RelayFailure"/> naming this end.
/// </summary>
internal abstract class RelayEnd : IDisposable
{
    /// <summary>Where the data read here comes from, for messages: "stdin", "the peer".</summary>
    public abstract string SourceName { get; }

    /// <summary>Where the data written here goes, for messages: "stdout", "the peer".</summary>
    public abstract string SinkName { get; }

    /// <summary>
    /// True when input that the relay will not send must be reported rather than dropped: stdin
    /// under -r, unless it is a terminal (where nothing typed is meant as data).
    /// </summary>
    public virtual bool ReportsUnsentInput => false;

    /// <summary>Whether a read of the source would return at once (data or EOF waiting); false when not known.</summary>
    public virtual bool SourceReady => false;

    /// <summary>
    /// How many bytes one read or write here should move, at least, for this end to work well
    /// (a secure stream: several whole records); 0 for the relay's own size.
    /// </summary>
    public virtual int ChunkSize => 0;

    /// <summary>How many bytes the source holds in all, when known (a regular file): for the progress percentage.</summary>
    public virtual long? SourceLength => null;

    public abstract ValueTask<int> ReadAsync(Memory<byte> buffer);

    /// <summary>
    /// True when the last read took everything the source will give: its end (a FIN, not a
    /// reset) has arrived behind those bytes. False when not known.
    /// </summary>
    public virtual bool EndIsNext => false;

    public abstract ValueTask WriteAsync(ReadOnlyMemory<byte> data);

    /// <summary>
    /// Writes the last data before the end, which <see cref="EndWriting"/> passes on next, unless
    /// the relay fails first. An end may hold the data back to send it with the end, so that the
    /// destination receives both at once, as it would from the source itself: an HTTP client must
    /// not take a connection that the server closed after its response for one it may use again.
    /// </summary>
    public virtual ValueTask WriteEndingAsync(ReadOnlyMemory<byte> data) => WriteAsync(data);

    /// <summary>Passes our end of stream on: a FIN on a socket; a flush for stdout.</summary>
    public abstract void EndWriting();

    /// <summary>
    /// Completes once everything written here was accepted by its destination (a socket: the
    /// other host's TCP acknowledged it, FIN included); throws if it was not.
    /// </summary>
    public abstract Task ConfirmDeliveredAsync();

    /// <summary>Ends at once after a failure: a socket is reset (RST), never closed with a FIN. Idempotent.</summary>
    public abstract void Abort();

    /// <summary>Closes after a relay that finished cleanly (a socket gracefully), unless aborted before.</summary>
    public abstract void Dispose();
}
