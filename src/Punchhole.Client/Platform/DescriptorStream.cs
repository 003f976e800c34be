using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Punchhole.Client.Platform;

/// <summary>
/// stdin, stdout or stderr as a stream of plain read(2)/write(2) calls (Linux). Neither .NET's
/// console stream nor a FileStream fits: the console stream ignores EPIPE, so data written to a
/// reader that has gone would count as delivered; a FileStream on a regular file writes at
/// offsets of its own (pwrite), so with <c>&gt; log 2&gt;&amp;1</c>, or a file other programs also
/// write to, lines would overwrite each other. read and write use, and move, the shared offset.
/// Asynchronous calls run the blocking call on the thread pool (a pipe or terminal cannot be
/// polled through .NET), one at a time.
/// </summary>
internal sealed class DescriptorStream(int fd, FileAccess access) : Stream
{
    public override bool CanRead => access == FileAccess.Read;

    public override bool CanWrite => access == FileAccess.Write;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    /// <summary>For a regular file, the bytes from the current offset to its end (the size of what stdin will give); otherwise null.</summary>
    public long? RemainingLength()
    {
        long position = Libc.lseek(fd, 0, Libc.SEEK_CUR);
        if (position < 0)
        {
            return null;
        }
        try
        {
            long length = RandomAccess.GetLength(new SafeFileHandle(fd, ownsHandle: false));
            return length > position ? length - position : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            return null;
        }
    }

    public override unsafe int Read(Span<byte> buffer)
    {
        fixed (byte* start = buffer)
        {
            while (true)
            {
                nint n = Libc.read(fd, start, (nuint)buffer.Length);
                if (n >= 0)
                {
                    return (int)n;
                }
                ThrowUnlessInterrupted();
            }
        }
    }

    public override unsafe void Write(ReadOnlySpan<byte> buffer)
    {
        fixed (byte* start = buffer)
        {
            int done = 0;
            while (done < buffer.Length)
            {
                nint n = Libc.write(fd, start + done, (nuint)(buffer.Length - done));
                if (n >= 0)
                {
                    done += (int)n;
                    continue;
                }
                ThrowUnlessInterrupted();
            }
        }
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    /// <summary>An errno as .NET reports it elsewhere on Unix: an IOException whose HResult is the errno.</summary>
    private static void ThrowUnlessInterrupted()
    {
        int errno = Marshal.GetLastPInvokeError();
        if (errno != Libc.EINTR)
        {
            throw new IOException(Marshal.GetPInvokeErrorMessage(errno), errno);
        }
    }
}
