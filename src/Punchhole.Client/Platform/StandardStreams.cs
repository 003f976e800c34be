using System.Text;
using Microsoft.Win32.SafeHandles;

namespace Punchhole.Client.Platform;

/// <summary>
/// stdin and stdout as raw byte streams, and stderr for messages. On Linux they are plain file
/// streams on descriptors 0, 1 and 2: .NET's console stream ignores EPIPE, so data written to a
/// reader that has gone would be counted as delivered, and its first write to a terminal sets the
/// terminal up for key reading (and prints the keypad escape code), which a relay has no use for.
/// Elsewhere the console's streams are the fallback.
/// </summary>
internal static class StandardStreams
{
    public static Stream OpenInput() => OperatingSystem.IsLinux()
        ? new FileStream(new SafeFileHandle(0, ownsHandle: false), FileAccess.Read, bufferSize: 0)
        : Console.OpenStandardInput();

    public static Stream OpenOutput() => OperatingSystem.IsLinux()
        ? new FileStream(new SafeFileHandle(1, ownsHandle: false), FileAccess.Write, bufferSize: 0)
        : Console.OpenStandardOutput();

    /// <summary>stderr as text; the caller flushes after each message.</summary>
    public static TextWriter OpenError() => OperatingSystem.IsLinux()
        ? new StreamWriter(new FileStream(new SafeFileHandle(2, ownsHandle: false), FileAccess.Write, bufferSize: 0), new UTF8Encoding(encoderShouldEmitUTF8Identifier: false), bufferSize: 1024)
        : Console.Error;
}
