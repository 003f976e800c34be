using System.Text;

namespace Punchhole.Client.Platform;

/// <summary>
/// stdin and stdout as raw byte streams, and stderr for messages: on Linux plain read/write
/// streams on descriptors 0, 1 and 2 (<see cref="DescriptorStream"/> says why), elsewhere the
/// console's streams. The console's own stderr stream would also set a terminal up for key
/// reading on its first write (and print the keypad escape code), which a relay has no use for.
/// </summary>
internal static class StandardStreams
{
    public static Stream OpenInput() => OperatingSystem.IsLinux() ? new DescriptorStream(0, FileAccess.Read) : Console.OpenStandardInput();

    public static Stream OpenOutput() => OperatingSystem.IsLinux() ? new DescriptorStream(1, FileAccess.Write) : Console.OpenStandardOutput();

    /// <summary>stderr as text; the caller flushes after each message.</summary>
    public static TextWriter OpenError() => OperatingSystem.IsLinux()
        ? new StreamWriter(new DescriptorStream(2, FileAccess.Write), new UTF8Encoding(encoderShouldEmitUTF8Identifier: false), bufferSize: 1024)
        : Console.Error;

    /// <summary>The size of what stdin will give when it is a regular file (for the progress percentage); otherwise null.</summary>
    public static long? InputLength(Stream input) => (input as DescriptorStream)?.RemainingLength();
}
