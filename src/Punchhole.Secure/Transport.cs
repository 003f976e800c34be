using System.IO.Pipelines;
using System.Net.Sockets;

namespace Punchhole.Secure;

/// <summary>
/// The connected byte stream the secure channel runs over (the punched socket, or any duplex
/// stream), seen as a PipeReader and a PipeWriter with buffers sized for 64 KiB records: a read
/// takes up to several records at once, and a flush of a few records leaves in one write.
/// Disposing it closes the stream.
/// </summary>
internal sealed class Transport : IDuplexPipe, IAsyncDisposable
{
    private const int ReadBufferSize = 256 * 1024;
    private const int MinimumReadSize = 32 * 1024;

    /// <summary>Five records: the session flushes every four, so a flush is one segment, one send.</summary>
    private const int WriteBufferSize = 5 * Records.RecordFormat.MaxRecordLength;

    private readonly Stream _stream;
    private readonly Socket? _socket;
    private int _disposed;

    private Transport(Stream stream, Socket? socket = null)
    {
        _stream = stream;
        _socket = socket;
        Input = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: ReadBufferSize, minimumReadSize: MinimumReadSize, leaveOpen: true));
        Output = PipeWriter.Create(stream, new StreamPipeWriterOptions(minimumBufferSize: WriteBufferSize, leaveOpen: true));
    }

    public PipeReader Input { get; }

    public PipeWriter Output { get; }

    /// <summary>Takes ownership of <paramref name="stream"/>.</summary>
    public static Transport Over(Stream stream) => new(stream);

    /// <summary>Takes ownership of a connected socket.</summary>
    public static Transport Over(Socket socket)
    {
        socket.NoDelay = true;
        return new(new NetworkStream(socket, ownsSocket: true), socket);
    }

    /// <summary>
    /// Makes the close that follows a graceful one: what is still queued goes out, then a FIN.
    /// The client gives every connection SO_LINGER 0, so that a kill is a reset; once the
    /// session's authenticated end is sent, a reset could only drop that end.
    /// </summary>
    public void PreferGracefulClose()
    {
        try
        {
            if (_socket is not null && Volatile.Read(ref _disposed) == 0)
            {
                _socket.LingerState = new LingerOption(false, 0);
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Closed or reset already: there is nothing left to deliver.
        }
    }

    /// <summary>Closes the stream at once; pending reads and writes fail. Safe to call more than once.</summary>
    public void Close()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _stream.Dispose();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        await Input.CompleteAsync().ConfigureAwait(false);
        await Output.CompleteAsync().ConfigureAwait(false);
        await _stream.DisposeAsync().ConfigureAwait(false);
    }
}
