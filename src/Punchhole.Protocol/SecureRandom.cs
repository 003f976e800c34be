using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace Punchhole.Protocol;

/// <summary>
/// Random bytes from the operating system. On Linux straight from the kernel (getrandom(2)):
/// there .NET's RandomNumberGenerator goes through OpenSSL, which a static binary in an empty
/// root does not have. Elsewhere (the .NET tool on Windows or macOS) RandomNumberGenerator,
/// which asks the system's own generator there, with no OpenSSL involved.
/// </summary>
public static partial class SecureRandom
{
    private const int EINTR = 4;

    public static void Fill(Span<byte> buffer)
    {
        if (OperatingSystem.IsLinux())
        {
            FillFromKernel(buffer);
        }
        else
        {
            RandomNumberGenerator.Fill(buffer);
        }
    }

    private static unsafe void FillFromKernel(Span<byte> buffer)
    {
        fixed (byte* start = buffer)
        {
            int done = 0;
            while (done < buffer.Length)
            {
                nint n = getrandom(start + done, (nuint)(buffer.Length - done), 0);
                if (n > 0)
                {
                    done += (int)n;
                    continue;
                }
                int errno = Marshal.GetLastPInvokeError();
                if (n < 0 && errno == EINTR)
                {
                    continue;
                }
                throw new IOException($"getrandom failed (errno {errno}): the kernel offers no random bytes.");
            }
        }
    }

    [LibraryImport("libc", SetLastError = true)]
    private static unsafe partial nint getrandom(byte* buffer, nuint length, uint flags);
}
