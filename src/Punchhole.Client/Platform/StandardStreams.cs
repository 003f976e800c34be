using Microsoft.Win32.SafeHandles;

namespace Punchhole.Client.Platform;

/// <summary>
/// stdin and stdout as raw byte streams. On Linux they are plain file streams on descriptors 0
/// and 1: .NET's console stream ignores EPIPE, so data written to a reader that has gone would
/// be counted as delivered. Elsewhere the console's streams are the fallback.
/// </summary>
internal static class StandardStreams
{
    public static Stream OpenInput() => OperatingSystem.IsLinux()
        ? new FileStream(new SafeFileHandle(0, ownsHandle: false), FileAccess.Read, bufferSize: 0)
        : Console.OpenStandardInput();

    public static Stream OpenOutput() => OperatingSystem.IsLinux()
        ? new FileStream(new SafeFileHandle(1, ownsHandle: false), FileAccess.Write, bufferSize: 0)
        : Console.OpenStandardOutput();
}
