using System.Diagnostics;
using Punchhole.NatLab;

namespace Punchhole.Tests.NatLab;

/// <summary>The lab's own housekeeping: unique names, teardown, and clean-up after killed runs.</summary>
[Collection(NatLabCollection.Name)]
public class LabLifecycleTests
{
    [SkippableFact(Timeout = 60_000)]
    public async Task Two_labs_get_distinct_names_and_teardown_leaves_no_namespace_or_process()
    {
        string tstun = LabFixture.RequireLab();
        await Task.Yield();
        var one = Lab.Create(LabVariant.Drop, tstun);
        var two = Lab.Create(LabVariant.PublicPeer, tstun);
        string[] names = [.. one.Namespaces, .. two.Namespaces];
        int[] servers = [one.TStun.Id, two.TStun.Id];
        try
        {
            Assert.Equal(names.Length, names.Distinct().Count());
            Assert.All(names, n => Assert.StartsWith($"{Lab.Prefix}{Environment.ProcessId}-", n, StringComparison.Ordinal));
            Assert.All(names, n => Assert.True(File.Exists(Path.Combine(NetNs.Directory, n)), n));
            Assert.False(one.TStun.HasExited, one.TStun.Describe());
        }
        finally
        {
            one.Dispose();
            two.Dispose();
        }
        Assert.All(names, n => Assert.False(File.Exists(Path.Combine(NetNs.Directory, n)), $"{n} is still there"));
        Assert.All(servers, pid => Assert.False(Directory.Exists($"/proc/{pid}") && !IsZombie(pid), $"tstun {pid} still runs"));
    }

    [SkippableFact(Timeout = 60_000)]
    public async Task A_lab_left_by_a_dead_process_is_removed_at_the_next_start_and_nothing_else_is()
    {
        LabFixture.RequireLab();
        int deadPid = await DeadPidAsync();
        string stale = $"{Lab.Prefix}{deadPid}-1-srv";
        using var owner = Process.Start(new ProcessStartInfo("sleep", ["60"]))!;
        string live = $"{Lab.Prefix}{owner.Id}-1-srv";    // owned by a process that is alive
        string foreign = $"{Lab.Prefix}x{Environment.ProcessId}"; // not the lab's pattern
        string[] made = [stale, live, foreign];
        Process? sleeper = null;
        try
        {
            foreach (string ns in made)
            {
                Command.Run("ip", ["netns", "add", ns]);
            }
            // Something still running in the stale lab, as a killed run leaves its tstun behind.
            sleeper = Process.Start(new ProcessStartInfo("ip", ["netns", "exec", stale, "sleep", "60"]))!;
            await WaitUntilAsync(() => Command.Run("ip", ["netns", "pids", stale]).Trim().Length > 0);

            var removed = Lab.CleanStale();

            Assert.Contains(stale, removed);
            Assert.DoesNotContain(live, removed);
            Assert.DoesNotContain(foreign, removed);
            Assert.False(File.Exists(Path.Combine(NetNs.Directory, stale)));
            Assert.True(File.Exists(Path.Combine(NetNs.Directory, live)));
            Assert.True(File.Exists(Path.Combine(NetNs.Directory, foreign)));
            Assert.True(sleeper.WaitForExit(5000), "the process inside the stale lab was not ended");
        }
        finally
        {
            sleeper?.Dispose();
            owner.Kill();
            foreach (string ns in made)
            {
                Command.TryRun("ip", ["netns", "del", ns], out _);
            }
        }
    }

    private static async Task<int> DeadPidAsync()
    {
        using var process = Process.Start(new ProcessStartInfo("true"))!;
        await process.WaitForExitAsync();
        return process.Id;
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        for (int i = 0; i < 100 && !condition(); i++)
        {
            await Task.Delay(50);
        }
        Assert.True(condition());
    }

    private static bool IsZombie(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/stat").Split(' ')[2] == "Z";
        }
        catch (IOException)
        {
            return true;
        }
    }
}
