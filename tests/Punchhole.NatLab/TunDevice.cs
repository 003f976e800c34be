using System.ComponentModel;
using System.Runtime.InteropServices;

namespace Punchhole.NatLab;

/// <summary>
/// A layer-3 TUN device (IFF_TUN, no packet-information header) owned by this process, in the
/// network namespace the process runs in. Reading takes a packet the kernel routed into the
/// device; writing hands a packet back to the kernel as if it had arrived on the device. The
/// device exists as long as the descriptor: it disappears, with its routes, when the process ends.
/// </summary>
internal sealed partial class TunDevice : IDisposable
{
    private const uint TUNSETIFF = 0x400454ca;
    private const short IFF_TUN = 0x0001;
    private const short IFF_NO_PI = 0x1000;
    private const int O_RDWR = 0x2;
    private const int O_NONBLOCK = 0x800;
    private const int O_CLOEXEC = 0x80000;
    private const int EINTR = 4;
    private const int EAGAIN = 11;
    private const int IfNameSize = 16;
    private const int IfReqSize = 40;

    private int _fd;

    private TunDevice(int fd, string name)
    {
        _fd = fd;
        Name = name;
    }

    public string Name { get; }

    public int Descriptor => _fd;

    /// <summary>Creates the device <paramref name="name"/> (at most 15 bytes), non-blocking.</summary>
    public static TunDevice Create(string name)
    {
        byte[] ifreq = new byte[IfReqSize];
        int length = System.Text.Encoding.ASCII.GetBytes(name, ifreq);
        if (length is 0 or >= IfNameSize)
        {
            throw new ArgumentException($"bad device name '{name}' (1 to 15 characters)", nameof(name));
        }
        BitConverter.TryWriteBytes(ifreq.AsSpan(IfNameSize), (short)(IFF_TUN | IFF_NO_PI));
        int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0)
        {
            throw new LabException($"cannot open /dev/net/tun: {new Win32Exception(Marshal.GetLastPInvokeError()).Message}");
        }
        if (ioctl(fd, TUNSETIFF, ifreq) != 0)
        {
            int error = Marshal.GetLastPInvokeError();
            close(fd);
            throw new LabException($"cannot create TUN device {name}: {new Win32Exception(error).Message}");
        }
        return new TunDevice(fd, name);
    }

    /// <summary>Reads one packet into <paramref name="buffer"/>; 0 when none is waiting.</summary>
    public int Read(Span<byte> buffer)
    {
        while (true)
        {
            nint n = read(_fd, ref MemoryMarshal.GetReference(buffer), buffer.Length);
            if (n >= 0)
            {
                return (int)n;
            }
            int error = Marshal.GetLastPInvokeError();
            if (error == EAGAIN)
            {
                return 0;
            }
            if (error != EINTR)
            {
                throw new LabException($"reading {Name}: {new Win32Exception(error).Message}");
            }
        }
    }

    /// <summary>Hands <paramref name="packet"/> to the kernel; false (with the reason) when it refuses it.</summary>
    public bool Write(ReadOnlySpan<byte> packet, out string? failure)
    {
        while (true)
        {
            nint n = write(_fd, in MemoryMarshal.GetReference(packet), packet.Length);
            if (n >= 0)
            {
                failure = null;
                return true;
            }
            int error = Marshal.GetLastPInvokeError();
            if (error != EINTR)
            {
                failure = new Win32Exception(error).Message;
                return false;
            }
        }
    }

    public void Dispose()
    {
        int fd = Interlocked.Exchange(ref _fd, -1);
        if (fd >= 0)
        {
            close(fd);
        }
    }

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int open(string path, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int ioctl(int fd, nuint request, [In, Out] byte[] argument);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint read(int fd, ref byte buffer, nint count);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint write(int fd, in byte buffer, nint count);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int close(int fd);
}
