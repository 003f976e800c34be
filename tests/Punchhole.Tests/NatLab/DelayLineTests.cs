using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Punchhole.NatLab;
using Xunit.Abstractions;

namespace Punchhole.Tests.NatLab;

/// <summary>The lab for the delay-line tests: routers that answer unsolicited SYNs with RST, so a refused connect times a round trip.</summary>
public sealed class DelayLineLab() : LabFixture(LabVariant.Reset);

/// <summary>
/// The lab's delay line (Lab.AddDelayLine): a TUN device at an ISP's router whose reader holds
/// every forwarded packet for the delay. A connect from client-a to router-b is refused by
/// router-b, so its time is one round trip across both NATs and both ISPs.
/// </summary>
[Collection(NatLabCollection.Name)]
public partial class DelayLineTests(DelayLineLab fixture, ITestOutputHelper output) : IClassFixture<DelayLineLab>
{
    private const int IpProtocolTcp = 6;
    private const int TcpInfo = 11;

    /// <summary>Where struct tcp_info keeps tcpi_rtt (microseconds).</summary>
    private const int TcpInfoRttOffset = 68;

    private static readonly TimeSpan s_delay = TimeSpan.FromMilliseconds(20);

    /// <summary>How far above 2·D the median round trip may be, as the kernel times it (the delay program runs real-time).</summary>
    private const double KernelSlackMs = 3;

    /// <summary>How far above 2·D the median round trip may be, as this (loaded, not real-time) process times it.</summary>
    private const double SlackMs = 25;

    [SkippableTheory(Timeout = 120_000)]
    [InlineData(AddressFamily.InterNetwork)]
    [InlineData(AddressFamily.InterNetworkV6)]
    public async Task A_delay_line_at_isp_a_adds_twice_its_delay_to_round_trips_from_site_a_and_nothing_once_removed(AddressFamily family)
    {
        var lab = fixture.Lab;
        var before = await KernelRoundTripsAsync(lab, family);
        Assert.True(Median(before) < 2, $"client-a to tstun without a delay line, as the kernel measured: {Show(before)}");

        double[] kernel, refused;
        LabProcess program;
        using (var line = lab.AddDelayLine(lab.IspA, s_delay))
        {
            program = line.Process;
            kernel = await KernelRoundTripsAsync(lab, family);
            refused = await RefusedConnectsAsync(lab, family);
            Assert.True(line.IsRunning, program.Describe());
        }
        double twice = 2 * s_delay.TotalMilliseconds;
        string why = $"with {s_delay.TotalMilliseconds} ms each way at isp-a: client-a to tstun as the kernel measured: {Show(kernel)}; "
            + $"client-a to router-b, refused, as this process measured: {Show(refused)}\n{program.Describe()}";
        output.WriteLine($"{family}: before {Show(before)}; {why}");
        Assert.True(kernel.Min() >= twice && refused.Min() >= twice, why);
        Assert.True(Median(kernel) < twice + KernelSlackMs && Median(refused) < twice + SlackMs, why);
        // Removing the line closes the program's stdin, on which it stops by itself.
        Assert.True(program.ExitCode == 0, program.Describe());
        Assert.Empty(lab.DelayLines);

        var after = await KernelRoundTripsAsync(lab, family);
        output.WriteLine($"{family}: after {Show(after)}");
        Assert.True(Median(after) < 2, $"after the delay line was removed: {Show(after)}");
    }

    [SkippableTheory(Timeout = 60_000)]
    [InlineData(AddressFamily.InterNetwork)]
    [InlineData(AddressFamily.InterNetworkV6)]
    public async Task Datagrams_keep_their_order_and_their_hop_count_none_arrives_early_and_each_one_a_full_queue_drops_is_counted(AddressFamily family)
    {
        const int Sent = 100;
        const int QueueLimit = 16;
        var lab = fixture.Lab;
        using var line = lab.AddDelayLine(lab.IspA, s_delay, QueueLimit);
        using var receiver = NetNs.Run(lab.Server.Namespace, () => new Socket(family, SocketType.Dgram, ProtocolType.Udp));
        receiver.Bind(new IPEndPoint(Lab.ServerAddress(family), 0));
        using var sender = NetNs.Run(lab.ClientA.Namespace, () => new Socket(family, SocketType.Dgram, ProtocolType.Udp));
        // Just enough hops to reach tstun's host (router-a, isp-a): the detour through the TUN device must not cost one.
        sender.Ttl = 3;

        byte[] datagram = new byte[12];
        for (int i = 0; i < Sent; i++)
        {
            BinaryPrimitives.WriteInt32BigEndian(datagram, i);
            BinaryPrimitives.WriteInt64BigEndian(datagram.AsSpan(4), Stopwatch.GetTimestamp());
            sender.SendTo(datagram, receiver.LocalEndPoint!);
        }
        var received = new List<(int Number, double Ms)>();
        byte[] buffer = new byte[64];
        while (true)
        {
            using var quiet = new CancellationTokenSource(TimeSpan.FromSeconds(1));
            int length;
            try
            {
                length = await receiver.ReceiveAsync(buffer, SocketFlags.None, quiet.Token);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            Assert.Equal(datagram.Length, length);
            long sentAt = BinaryPrimitives.ReadInt64BigEndian(buffer.AsSpan(4));
            received.Add((BinaryPrimitives.ReadInt32BigEndian(buffer), Stopwatch.GetElapsedTime(sentAt).TotalMilliseconds));
        }

        output.WriteLine($"{family}: {line.Process.Describe()}");
        string seen = string.Join(' ', received.Select(r => string.Create(CultureInfo.InvariantCulture, $"#{r.Number}:{r.Ms:0.0}ms")));
        // The lab's own packets (the TUN device's IPv6 housekeeping, say) can hold a few of the queue's slots.
        Assert.True(received.Count >= QueueLimit / 2 && received.Count <= QueueLimit, $"{received.Count} of {Sent} arrived: {seen}\n{line.Process.Describe()}");
        Assert.True(received.Select(r => r.Number).SequenceEqual(received.Select(r => r.Number).Order()), $"out of order: {seen}");
        Assert.True(received.All(r => r.Ms >= s_delay.TotalMilliseconds), $"sooner than {s_delay.TotalMilliseconds} ms: {seen}");

        // The program's counters (a line a second while they change) account for every datagram.
        var counted = await line.Process.WaitForLineAsync(l => Counters(l) is { } c && c.Delayed + c.Dropped >= Sent, TimeSpan.FromSeconds(10));
        Assert.True(counted is not null, line.Process.Describe());
        var (_, dropped) = Counters(counted.Value.Text)!.Value;
        Assert.True(dropped > 0, $"a burst of {Sent} into a queue of {QueueLimit} dropped nothing: {line.Process.Describe()}");
        // Every datagram of ours that did not arrive was counted (any of the lab's own dropped with them count too).
        Assert.True(dropped >= Sent - received.Count, $"{received.Count} of {Sent} arrived, the line counted {dropped} dropped: {line.Process.Describe()}");
    }

    [SkippableFact(Timeout = 60_000)]
    public async Task The_delay_program_ends_with_its_lab_and_a_second_line_at_one_isp_is_refused()
    {
        string tstun = LabFixture.RequireLab();
        await Task.Yield();
        int pid;
        using (var lab = Lab.Create(LabVariant.PublicPeer, tstun))
        {
            var line = lab.AddDelayLine(lab.IspB, TimeSpan.FromMilliseconds(5));
            pid = line.Process.Id;
            Assert.True(line.IsRunning, line.Process.Describe());
            Assert.Throws<InvalidOperationException>(() => lab.AddDelayLine(lab.IspB, TimeSpan.FromMilliseconds(5)));
            Assert.Throws<ArgumentException>(() => lab.AddDelayLine(lab.RouterA, TimeSpan.FromMilliseconds(5)));
        }
        Assert.False(Directory.Exists($"/proc/{pid}"), $"the delay program ({pid}) outlived its lab");
    }

    /// <summary>
    /// Round trips (ms, sorted) of connects from client-a to tstun, as the kernel measured them
    /// (TCP_INFO's smoothed RTT right after the handshake: the SYN to SYN-ACK time, taken when the
    /// packets arrive, whatever the scheduler does to this process).
    /// </summary>
    private static async Task<double[]> KernelRoundTripsAsync(Lab lab, AddressFamily family, int count = 5)
    {
        var times = new double[count];
        byte[] info = new byte[104];
        for (int i = 0; i < count; i++)
        {
            using var socket = Lab.CreateSocket(lab.ClientA, family);
            await socket.ConnectAsync(Lab.ServerAddress(family), Lab.TStunPort).WaitAsync(TimeSpan.FromSeconds(5));
            Assert.True(socket.GetRawSocketOption(IpProtocolTcp, TcpInfo, info) >= TcpInfoRttOffset + 4);
            times[i] = BinaryPrimitives.ReadUInt32LittleEndian(info.AsSpan(TcpInfoRttOffset)) / 1000.0;
        }
        Array.Sort(times);
        return times;
    }

    /// <summary>Round-trip times (ms, sorted) of connects from client-a that router-b refuses (the v4 NAT's own address, or client-b's v6 address behind the firewall), as this process measured them.</summary>
    private static async Task<double[]> RefusedConnectsAsync(Lab lab, AddressFamily family, int count = 10)
    {
        var target = new IPEndPoint(family == AddressFamily.InterNetworkV6 ? lab.ClientB.Address(family) : lab.RouterB!.Address(family), 9);
        var times = new double[count];
        for (int i = 0; i < count; i++)
        {
            using var socket = Lab.CreateSocket(lab.ClientA, family);
            long start = Stopwatch.GetTimestamp();
            var outcome = await LabSockets.ConnectAsync(socket, target, TimeSpan.FromSeconds(5));
            times[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            Assert.True(outcome == ConnectOutcome.Refused, $"connect to {target}: {outcome}\n{lab.Dump()}");
        }
        Array.Sort(times);
        return times;
    }

    private static double Median(double[] sorted) => sorted[sorted.Length / 2];

    private static string Show(double[] times) =>
        string.Create(CultureInfo.InvariantCulture, $"median {Median(times):0.00} ms of [{string.Join(", ", times.Select(t => t.ToString("0.00", CultureInfo.InvariantCulture)))}]");

    private static (long Delayed, long Dropped)? Counters(string line) =>
        CountersPattern().Match(line) is { Success: true } m
            ? (long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), long.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture))
            : null;

    [GeneratedRegex(@"(\d+) packets delayed, (\d+) dropped")]
    private static partial Regex CountersPattern();
}
