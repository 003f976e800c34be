using System.ComponentModel;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Punchhole.NatLab;

/// <summary>
/// Work inside a named network namespace from this process: a short-lived thread joins the
/// namespace with setns(2) (which changes only the calling thread) and does the work there.
/// A socket keeps the namespace it was created in for its whole life, so sockets made here
/// can be used from any thread afterwards.
/// </summary>
public static partial class NetNs
{
    private const int CLONE_NEWNET = 0x40000000;

    /// <summary>Where `ip netns add` puts the namespace handles.</summary>
    public const string Directory = "/run/netns";

    /// <summary>Runs <paramref name="work"/> on a thread inside namespace <paramref name="name"/> and returns its result.</summary>
    public static T Run<T>(string name, Func<T> work)
    {
        T result = default!;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                using SafeFileHandle handle = File.OpenHandle(Path.Combine(Directory, name), FileMode.Open, FileAccess.Read);
                if (setns(handle, CLONE_NEWNET) != 0)
                {
                    throw new Win32Exception(Marshal.GetLastPInvokeError(), $"setns into network namespace {name}");
                }
                result = work();
            }
#pragma warning disable CA1031 // Any failure is handed to the calling thread below.
            catch (Exception e)
#pragma warning restore CA1031
            {
                failure = e;
            }
        })
        {
            IsBackground = true,
            Name = $"netns {name}",
        };
        thread.Start();
        thread.Join();
        if (failure is not null)
        {
            throw new LabException($"in network namespace {name}: {failure.Message}");
        }
        return result;
    }

    /// <summary>A TCP socket that lives in namespace <paramref name="name"/>.</summary>
    public static Socket CreateTcpSocket(string name, AddressFamily family) =>
        Run(name, () => new Socket(family, SocketType.Stream, ProtocolType.Tcp));

    /// <summary>Sets sysctls of namespace <paramref name="name"/> (keys like "net.ipv4.ip_forward"); missing optional keys are skipped.</summary>
    public static void SetSysctls(string name, IEnumerable<(string Key, string Value, bool Optional)> settings) =>
        Run(name, () =>
        {
            foreach (var (key, value, optional) in settings)
            {
                string path = "/proc/sys/" + key.Replace('.', '/');
                if (optional && !File.Exists(path))
                {
                    continue;
                }
                File.WriteAllText(path, value);
            }
            return true;
        });

    /// <summary>Reads a sysctl of namespace <paramref name="name"/>.</summary>
    public static string ReadSysctl(string name, string key) =>
        Run(name, () => File.ReadAllText("/proc/sys/" + key.Replace('.', '/')).Trim());

    [LibraryImport("libc", SetLastError = true)]
    private static partial int setns(SafeFileHandle fd, int nstype);
}
