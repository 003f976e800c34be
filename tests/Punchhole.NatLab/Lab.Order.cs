namespace Punchhole.NatLab;

/// <summary>
/// Packets of one flow stay in order through the lab, as on a real path.
/// <para>
/// A veth hands each packet to the receiving namespace on the CPU that sent it, so the lab is as
/// many parallel pipelines as there are CPUs: the reset router-b sends for client-a's SYN (made
/// while handling that SYN) and client-b's own SYN right behind it (sent by client-b's process on
/// another CPU) travel side by side, and the one that left second can arrive first. Captured in
/// the rst lab (tcpdump on both routers' wan0 and the clients' eth0): router-a saw client-b's SYN
/// 1 µs before the reset, client-a received the reset 1 µs before the SYN. A real path does not
/// reorder one flow's packets like that, and the reordering desynchronises conntrack: the entry
/// had let the peer's SYN in (SYN_SENT2), so it passed the reset without closing, the client's
/// socket died of it, and the entry stays pinned to that socket's sequence number, dropping the
/// client's later packets as out of window (docs/NAT.md, "Crossing resets").
/// </para>
/// Receive packet steering on every interface of the lab sends all of the lab's packet handling
/// through one CPU's backlog, which is a FIFO: whatever leaves a namespace first arrives first.
/// </summary>
public sealed partial class Lab
{
    /// <summary>The CPU mask every interface of the lab steers its received packets to (CPU 0).</summary>
    public const string SteeringMask = "1";

    private void KeepPacketsInOrder()
    {
        string script = string.Concat(_namespaces.Select(ns =>
            $"ip netns exec {ns} sh -c 'for q in /sys/class/net/*/queues/rx-*/rps_cpus; do if [ -e \"$q\" ]; then echo {SteeringMask} > \"$q\" || exit 1; fi; done' || exit 1\n"));
        Command.Run("sh", ["-e"], script);
    }

    /// <summary>The receive steering masks of <paramref name="host"/>'s interfaces (lo excepted), for the tests.</summary>
    public static IReadOnlyList<string> SteeringMasks(LabHost host) =>
        Command.Run("ip", ["netns", "exec", host.Namespace, "sh", "-c",
            "for q in /sys/class/net/*/queues/rx-*/rps_cpus; do case $q in /sys/class/net/lo/*) ;; *) cat \"$q\" ;; esac; done"])
        .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
