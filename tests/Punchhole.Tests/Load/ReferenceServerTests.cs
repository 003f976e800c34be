using System.Diagnostics;
using System.Globalization;
using System.Net;
using Punchhole.Tests.Support;

namespace Punchhole.Tests.Load;

/// <summary>
/// Our own C reference server (bench/reference/tstun-ref.c) answers as tstun does, so the
/// comparisons against it mean something; and the comparison script runs from a clone, with
/// nothing from outside the repository.
/// </summary>
[Collection(LoadCollection.Name)]
public sealed class ReferenceServerTests : IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);
    private readonly string _work = Directory.CreateTempSubdirectory("tstun-ref-test").FullName;

    public void Dispose() => Directory.Delete(_work, recursive: true);

    /// <summary>gcc, else clang; skips (under CI, fails) when there is neither.</summary>
    private static string CCompiler()
    {
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin").Split(':'))
        {
            foreach (string name in new[] { "gcc", "clang" })
            {
                string path = Path.Combine(dir, name);
                if (File.Exists(path))
                {
                    return path;
                }
            }
        }
        Assert.False(RepositoryPaths.InCi, "no C compiler (gcc or clang)");
        Skip.If(true, "no C compiler (gcc or clang)");
        return "";
    }

    private static async Task<(int ExitCode, string Output)> RunAsync(ProcessStartInfo info)
    {
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{info.FileName} did not finish: {await stdout}{await stderr}");
        }
        return (process.ExitCode, await stdout + await stderr);
    }

    private async Task<string> BuildReferenceAsync()
    {
        string binary = Path.Combine(_work, "tstun-ref");
        var info = new ProcessStartInfo(CCompiler());
        foreach (string arg in new[] { "-O2", "-Wall", "-Werror", "-o", binary, Path.Combine(RepositoryPaths.Root, "bench", "reference", "tstun-ref.c") })
        {
            info.ArgumentList.Add(arg);
        }
        var (exit, output) = await RunAsync(info);
        Assert.True(exit == 0, $"tstun-ref did not build:\n{output}");
        return binary;
    }

    [SkippableFact(Timeout = 120_000)]
    public async Task The_reference_server_pairs_split_keys_and_both_families_and_drops_a_waiter_that_resets()
    {
        int port = LocalPorts.Free();
        using var server = ChildProcess.Start(await BuildReferenceAsync(), "-p", port.ToString(CultureInfo.InvariantCulture));
        var v4 = new IPEndPoint(IPAddress.Loopback, port);
        var v6 = new IPEndPoint(IPAddress.IPv6Loopback, port);
        Assert.True(await LocalPorts.AcceptsAsync(v4, Wait), "tstun-ref never listened");

        // Many pairs at once, each reply naming the partner's own address and port.
        Assert.Empty(await Pairing.PairManyAsync(v4, pairs: 300, concurrency: 32, firstSource: 1, sources: 4));

        // A key in single bytes, and an IPv4 client paired with an IPv6 one (no ::ffff: prefix).
        var key = RendezvousClient.NewKey();
        using (var split = await RendezvousClient.ConnectAsync(v4))
        using (var other = await RendezvousClient.ConnectAsync(v6))
        {
            for (int i = 0; i < key.Length; i++)
            {
                await split.SendAsync(key.AsMemory(i, 1));
                await Task.Delay(2);
            }
            await Task.Delay(100);
            await other.SendKeyAsync(key);
            Assert.Equal(Pairing.Observed(other), await split.ReadToEndAsync());
            Assert.Equal(Pairing.Observed(split), await other.ReadToEndAsync());
        }

        // A waiter that resets gives its key back: the next two clients pair with each other.
        key = RendezvousClient.NewKey();
        var reset = await RendezvousClient.ConnectAsync(v4);
        await reset.SendKeyAsync(key);
        await Task.Delay(200);
        reset.Abort();
        await Task.Delay(200);
        using var first = await RendezvousClient.ConnectAsync(v4);
        await first.SendKeyAsync(key);
        await Task.Delay(100);
        using var second = await RendezvousClient.ConnectAsync(v4);
        await second.SendKeyAsync(key);
        Assert.Equal(Pairing.Observed(second), await first.ReadToEndAsync());
        Assert.Equal(Pairing.Observed(first), await second.ReadToEndAsync());
    }

    /// <summary>compare-cpair.sh from the repository root, with nothing from outside it: no shared tools, and the load tool built with the tests.</summary>
    private async Task<(int ExitCode, string Output)> CompareFromCloneAsync(string? servers, params string[] args)
    {
        var info = new ProcessStartInfo("bash") { WorkingDirectory = RepositoryPaths.Root };
        info.ArgumentList.Add("scripts/compare-cpair.sh");
        foreach (string arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        info.Environment["SHARED_TOOLS"] = Path.Combine(_work, "no-shared-tools");
        foreach (string name in new[] { "CPAIR", "PAIRLOAD", "TSTUN_REF", "TSTUN_BASE", "SERVERS", "LOADS" })
        {
            info.Environment.Remove(name);
        }
        if (servers is not null)
        {
            info.Environment["SERVERS"] = servers;
        }
        info.Environment["PHLOAD"] = ChildProcess.Built("punchhole-load");
        info.Environment["TSTUN"] = RepositoryPaths.RequireArtifact("tstun/tstun");
        return await RunAsync(info);
    }

    [SkippableFact(Timeout = 300_000)]
    public async Task The_comparison_runs_from_a_clone_against_our_own_reference_without_the_shared_tools()
    {
        CCompiler();
        var (exit, output) = await CompareFromCloneAsync(null, "1", "-c", "8", "-n", "200", "-S", "2");

        Assert.True(exit == 0, $"compare-cpair.sh failed:\n{output}");
        Assert.Contains("note: no pairload", output, StringComparison.Ordinal);
        Assert.DoesNotContain("cpair/", output, StringComparison.Ordinal);
        Assert.DoesNotContain("/cpair", output, StringComparison.Ordinal);
        // The default servers without the shared tools: our reference and tstun, each run once, without an error.
        var medians = output.Split('\n').Where(line => line.Contains(" runs=", StringComparison.Ordinal)).ToArray();
        Assert.Equal(["tstun-ref/punchhole-load", "tstun/punchhole-load"], medians.Select(line => line.Split(' ')[0]));
        Assert.All(medians, line =>
        {
            Assert.Contains(" runs=1 ", line, StringComparison.Ordinal);
            Assert.Contains("errors+bad+unfinished=0", line, StringComparison.Ordinal);
            Assert.DoesNotMatch(@"pairs/s=0 ", line);
        });
        Assert.Matches(@"ratio tstun/tstun-ref \(punchhole-load\): pairs/s \d+\.\d+ \(bar >= 1\.0\), p99 \d+\.\d+", output);
    }

    [SkippableTheory(Timeout = 120_000)]
    [InlineData("tstun-ref cpair tstun", "no cpair: ")]
    [InlineData("tstun-ref tstun-ref:2 tstun", "bad server 'tstun-ref:2': only the tstun variants take :N")]
    [InlineData("tstun-ref tstun-base tstun", "no baseline tstun: set TSTUN_BASE")]
    [InlineData("tstun-ref tsun", "unknown server 'tsun'")]
    public async Task A_server_that_cannot_run_is_named_in_one_line_before_any_load(string servers, string expected)
    {
        CCompiler();
        var (exit, output) = await CompareFromCloneAsync(servers, "1", "-c", "8", "-n", "200", "-S", "2");

        Assert.NotEqual(0, exit);
        Assert.StartsWith(expected, output.Trim(), StringComparison.Ordinal);
        Assert.Single(output.Trim().Split('\n'));
    }
}
