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

    /// <summary>How many bytes the source holds in all, when known (a regular file): for the progress percentage.</summary>
    public virtual long? SourceLength => null;

    public abstract ValueTask<int> ReadAsync(Memory<byte> buffer);

    public abstract ValueTask WriteAsync(ReadOnlyMemory<byte> data);

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
