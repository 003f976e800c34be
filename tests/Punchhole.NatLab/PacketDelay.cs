using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace Punchhole.NatLab;

/// <summary>
/// `natlab delay`: the program behind a <see cref="DelayLine"/>, run inside a lab namespace. It
/// creates a TUN device, and every packet the kernel routes into it is held for the delay and
/// then written back, so that the kernel receives it on the device and forwards it on. One
/// thread: it sleeps in ppoll(2) until a packet arrives or the first held one is due, so a packet
/// leaves within the scheduler's wake-up latency of its due time, never before.
/// A packet that finds the queue full is dropped and counted. The program ends when its stdin
/// closes (the lab is torn down, or whoever started it is gone) or its lifetime runs out.
/// </summary>
internal sealed partial class PacketDelay
{
    public const int DefaultQueueLimit = 4096;

    public const string ReadyText = "ready";

    private const short POLLIN = 0x1;
    private const short POLLERR = 0x8;
    private const short POLLHUP = 0x10;
    private const short POLLNVAL = 0x20;
    private const int EINTR = 4;
    private const int SCHED_FIFO = 1;
    private const int RealTimePriority = 10;

    /// <summary>Packets read per wake-up before due packets are written again.</summary>
    private const int ReadBatch = 64;

    private readonly TunDevice _tun;
    private readonly long _delay;
    private readonly DelayQueue _queue;
    private readonly byte[] _spill = new byte[DelayQueue.SlotSize];
    private long _delayed;
    private long _dropped;
    private long _refused;
    private long _oversize;
    private int _peak;
    private long _maxLate;
    private string? _lastReport;

    private PacketDelay(TunDevice tun, TimeSpan delay, int queueLimit)
    {
        _tun = tun;
        _delay = (long)(delay.TotalSeconds * Stopwatch.Frequency);
        _queue = new DelayQueue(queueLimit);
    }

    public const string Usage = "natlab delay --dev NAME --ms DELAY [--queue PACKETS] [--seconds LIFETIME]";

    /// <summary>`natlab delay …`: runs until stdin closes or the lifetime ends; 0 then.</summary>
    public static int Run(string[] args)
    {
        string? dev = null;
        double ms = double.NaN;
        int queue = DefaultQueueLimit;
        double seconds = 3600;
        for (int i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            double Number(double min, double max) =>
                double.TryParse(Value(), NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && v >= min && v <= max
                    ? v
                    : throw new ArgumentException($"{args[i - 1]} takes a number from {min} to {max}, not '{args[i]}'");
            switch (args[i])
            {
                case "--dev":
                    dev = Value();
                    break;
                case "--ms":
                    ms = Number(0, 10_000);
                    break;
                case "--queue":
                    queue = (int)Number(1, 1 << 16);
                    break;
                case "--seconds":
                    seconds = Number(1, 7 * 24 * 3600);
                    break;
                default:
                    throw new ArgumentException($"unknown delay option '{args[i]}' ({Usage})");
            }
        }
        if (dev is null || double.IsNaN(ms))
        {
            throw new ArgumentException($"delay needs --dev and --ms ({Usage})");
        }
        using var tun = TunDevice.Create(dev);
        var line = new PacketDelay(tun, TimeSpan.FromMilliseconds(ms), queue);
        string scheduling = TryRealTime(out string? why) ? "real-time scheduling" : $"normal scheduling ({why})";
        line.Say($"{ReadyText}, {ms.ToString(CultureInfo.InvariantCulture)} ms one way, at most {queue} packets held, {scheduling}");
        return line.Loop(TimeSpan.FromSeconds(seconds));
    }

    private int Loop(TimeSpan lifetime)
    {
        using var stdin = Console.OpenStandardInput();
        byte[] discard = new byte[256];
        long second = Stopwatch.Frequency;
        long deadline = Stopwatch.GetTimestamp() + (long)(lifetime.TotalSeconds * second);
        long nextReport = Stopwatch.GetTimestamp() + second;
        while (true)
        {
            long now = Stopwatch.GetTimestamp();
            SendDue(now);
            if (now >= deadline)
            {
                Report();
                Say("lifetime over, stopping");
                return 0;
            }
            if (now >= nextReport)
            {
                Report();
                nextReport = now + second;
            }
            long wake = Math.Min(deadline, nextReport);
            if (_queue.TryPeekDue(out long due))
            {
                wake = Math.Min(wake, due);
            }
            var (packets, input) = Wait(Math.Max(0, wake - now));
            if (input && stdin.Read(discard) == 0)
            {
                Report();
                Say("stdin closed, stopping");
                return 0;
            }
            if (packets)
            {
                Receive();
            }
        }
    }

    /// <summary>Writes back every packet whose time has come.</summary>
    private void SendDue(long now)
    {
        while (_queue.TryPeekDue(out long due) && due <= now)
        {
            if (_tun.Write(_queue.Head, out _))
            {
                _delayed++;
                _maxLate = Math.Max(_maxLate, now - due);
            }
            else
            {
                _refused++;
            }
            _queue.Dequeue();
        }
    }

    /// <summary>Reads what the kernel has queued on the device (up to a batch), stamping each packet's due time.</summary>
    private void Receive()
    {
        for (int i = 0; i < ReadBatch; i++)
        {
            bool full = _queue.IsFull;
            Span<byte> slot = full ? _spill : _queue.Tail;
            int length = _tun.Read(slot);
            if (length == 0)
            {
                return;
            }
            if (full)
            {
                _dropped++;
                continue;
            }
            if (length >= DelayQueue.SlotSize)
            {
                // Possibly cut short: bigger than the device's MTU allows.
                _oversize++;
                continue;
            }
            GiveBackHop(slot[..length]);
            _queue.Commit(length, Stopwatch.GetTimestamp() + _delay);
            _peak = Math.Max(_peak, _queue.Count);
        }
    }

    /// <summary>
    /// The detour through the device makes the kernel forward the packet twice, and each time
    /// it takes one from the TTL (IPv4) or hop limit (IPv6). One is given back, so a probe with a
    /// small TTL expires where it would without the delay line.
    /// </summary>
    internal static void GiveBackHop(Span<byte> packet)
    {
        if (packet.Length >= 40 && packet[0] >> 4 == 6)
        {
            if (packet[7] < 255)
            {
                packet[7]++;
            }
            return;
        }
        int headerLength = (packet.Length > 0 ? packet[0] & 0xF : 0) * 4;
        if (packet.Length < 20 || packet[0] >> 4 != 4 || headerLength < 20 || headerLength > packet.Length || packet[8] == 255)
        {
            return;
        }
        packet[8]++;
        packet[10] = 0;
        packet[11] = 0;
        uint sum = 0;
        for (int i = 0; i < headerLength; i += 2)
        {
            sum += (uint)((packet[i] << 8) | packet[i + 1]);
        }
        while (sum >> 16 != 0)
        {
            sum = (sum & 0xFFFF) + (sum >> 16);
        }
        ushort checksum = (ushort)~sum;
        packet[10] = (byte)(checksum >> 8);
        packet[11] = (byte)checksum;
    }

    /// <summary>Sleeps until the device has a packet, stdin has news (data or its end), or <paramref name="ticks"/> pass.</summary>
    private unsafe (bool Packets, bool Input) Wait(long ticks)
    {
        long ns = (long)(ticks * (1e9 / Stopwatch.Frequency));
        var timeout = new TimeSpec { Seconds = ns / 1_000_000_000, Nanoseconds = ns % 1_000_000_000 };
        PollFd* fds = stackalloc PollFd[2];
        fds[0] = new PollFd { Fd = _tun.Descriptor, Events = POLLIN };
        fds[1] = new PollFd { Fd = 0, Events = POLLIN };
        if (ppoll(fds, 2, &timeout, 0) < 0)
        {
            int error = Marshal.GetLastPInvokeError();
            if (error == EINTR)
            {
                return (false, false);
            }
            throw new LabException($"ppoll on {_tun.Name}: {new Win32Exception(error).Message}");
        }
        if ((fds[0].Revents & (POLLERR | POLLHUP | POLLNVAL)) != 0)
        {
            throw new LabException($"{_tun.Name} failed (poll events 0x{fds[0].Revents:x})");
        }
        return ((fds[0].Revents & POLLIN) != 0, fds[1].Revents != 0);
    }

    /// <summary>
    /// Puts this thread (the one that moves the packets) in the real-time class, above everything
    /// the lab and its neighbours run: on a loaded machine an ordinary thread wakes up to tens of
    /// milliseconds late, which would be added to the delay. It sleeps in ppoll between packets,
    /// so it takes the CPU only for the copies.
    /// </summary>
    private static bool TryRealTime(out string? failure)
    {
        int priority = RealTimePriority;
        if (sched_setscheduler(0, SCHED_FIFO, ref priority) == 0)
        {
            failure = null;
            return true;
        }
        failure = new Win32Exception(Marshal.GetLastPInvokeError()).Message;
        return false;
    }

    /// <summary>One line of counters, when they changed since the last one.</summary>
    private void Report()
    {
        string report = string.Create(CultureInfo.InvariantCulture,
            $"{_delayed} packets delayed, {_dropped} dropped (queue full), {_refused} refused by the kernel, {_oversize} oversize, queue peak {_peak}");
        if (report == _lastReport)
        {
            return;
        }
        _lastReport = report;
        double lateMs = _maxLate * 1000.0 / Stopwatch.Frequency;
        _maxLate = 0;
        Say(string.Create(CultureInfo.InvariantCulture, $"{report}, at most {lateMs:0.00} ms late"));
    }

    private void Say(string text) => Console.Error.WriteLine($"delay line {_tun.Name}: {text}");

    [StructLayout(LayoutKind.Sequential)]
    private struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int sched_setscheduler(int pid, int policy, ref int priority);

    [LibraryImport("libc", SetLastError = true)]
    private static unsafe partial int ppoll(PollFd* fds, nuint count, TimeSpec* timeout, nint signalMask);
}
