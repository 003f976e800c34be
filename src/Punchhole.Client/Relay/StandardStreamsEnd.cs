namespace Punchhole.Client.Relay;

/// <summary>stdin and stdout as one relay end: the default, ncat-like mode and -s/-r.</summary>
internal sealed class StandardStreamsEnd(StandardIo io) : RelayEnd
{
    public override string SourceName => "stdin";

    public override string SinkName => "stdout";

    public override bool ReportsUnsentInput => !io.InputIsTerminal;

    public override bool SourceReady => io.InputReady?.Invoke() ?? false;

    public override long? SourceLength => io.InputLength ?? (io.Input.CanSeek ? io.Input.Length - io.Input.Position : null);

    public override ValueTask<int> ReadAsync(Memory<byte> buffer) => io.Input.ReadAsync(buffer);

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> data) => io.Output.WriteAsync(data);

    public override void EndWriting() => io.Output.Flush();

    /// <summary>A write to stdout that returned is with the kernel, for the reader: nothing more to learn.</summary>
    public override Task ConfirmDeliveredAsync() => Task.CompletedTask;

    /// <summary>A pipe or file has no reset; a failing relay simply stops writing.</summary>
    public override void Abort()
    {
    }

    public override void Dispose()
    {
    }
}

/// <summary>The process's stdin and stdout, and what the client knows of them at start.</summary>
/// <param name="Input">stdin, read as raw bytes.</param>
/// <param name="Output">stdout, written as raw bytes.</param>
/// <param name="InputIsTerminal">stdin is a terminal: what is typed there under -r is not data.</param>
/// <param name="InputClosed">stdin was closed when the program started (<c>&lt;&amp;-</c>).</param>
/// <param name="OutputClosed">stdout was closed when the program started (<c>&gt;&amp;-</c>).</param>
/// <param name="InputReady">Tells whether stdin can be read at once, without reading it; null when unknown.</param>
/// <param name="InputLength">The size of what stdin will give, when it is a regular file.</param>
internal sealed record StandardIo(
    Stream Input,
    Stream Output,
    bool InputIsTerminal = false,
    bool InputClosed = false,
    bool OutputClosed = false,
    Func<bool>? InputReady = null,
    long? InputLength = null);
