using System.Diagnostics;
using Punchhole.Tests.Support;

namespace Punchhole.Tests.Deployment;

/// <summary>The published programs: static binaries that need nothing from the host.</summary>
public class StaticBinaryTests
{
    private const long EightMiB = 8L * 1024 * 1024;

    // tstun carries the Redis client of --redis (StackExchange.Redis and what it needs of the
    // runtime: TLS, pipelines), about 6 MiB more than the client; see docs/SCALING.md.
    private const long TwelveMiB = 12L * 1024 * 1024;

    [SkippableTheory(Timeout = 30_000)]
    [InlineData("tstun/tstun", TwelveMiB)]
    [InlineData("punchhole/punchhole", EightMiB)]
    [InlineData("linux-arm64/tstun/tstun", TwelveMiB)]
    [InlineData("linux-arm64/punchhole/punchhole", EightMiB)]
    public async Task Each_program_is_a_static_executable_within_its_size_budget(string artifact, long budget)
    {
        string binary = RepositoryPaths.RequireArtifact(artifact);
        Assert.InRange(new FileInfo(binary).Length, 1, budget);
        string description = await DescribeAsync(binary);
        Assert.Contains("static", description, StringComparison.Ordinal);
        Assert.DoesNotContain("dynamically linked", description, StringComparison.Ordinal);
    }

    [SkippableFact(Timeout = 30_000)]
    public async Task Tstun_serves_pairings_inside_an_empty_root()
    {
        string binary = RepositoryPaths.RequireArtifact("tstun/tstun");
        RepositoryPaths.RequireRoot("chroot");
        using var root = new EmptyRoot(binary);
        using var server = ServerProcess.StartIn(root.Path, root.Executable, "--port", "0", "--bind", "127.0.0.1");
        var endPoint = await server.WaitUntilListeningAsync();

        var key = RendezvousClient.NewKey();
        using var a = await RendezvousClient.ConnectAsync(endPoint);
        using var b = await RendezvousClient.ConnectAsync(endPoint);
        await a.SendKeyAsync(key);
        await b.SendKeyAsync(key);
        Assert.Equal($"127.0.0.1 {b.LocalEndPoint.Port}", await a.ReadToEndAsync());
        Assert.Equal($"127.0.0.1 {a.LocalEndPoint.Port}", await b.ReadToEndAsync());

        server.Signal(15);
        Assert.Equal(0, await server.WaitForExitAsync(TimeSpan.FromSeconds(5)));
    }

    [SkippableFact(Timeout = 60_000)]
    public async Task Tstun_shares_pairings_through_redis_inside_an_empty_root_given_dev_urandom()
    {
        string binary = RepositoryPaths.RequireArtifact("tstun/tstun");
        RepositoryPaths.RequireRoot("chroot");
        using var redis = await RedisServer.StartAsync();
        using var root = new EmptyRoot(binary);
        // The Redis client's random numbers come from .NET's RNG, which reads /dev/urandom.
        Directory.CreateDirectory(Path.Combine(root.Path, "dev"));
        using (var mknod = Process.Start("mknod", ["-m", "444", Path.Combine(root.Path, "dev", "urandom"), "c", "1", "9"]))
        {
            await mknod.WaitForExitAsync();
            Assert.Equal(0, mknod.ExitCode);
        }
        using var chrooted = ServerProcess.StartIn(root.Path, root.Executable, "--port", "0", "--bind", "127.0.0.1", "--redis", redis.Configuration);
        using var other = ServerProcess.Start(binary, "--port", "0", "--bind", "127.0.0.1", "--redis", redis.Configuration);
        var first = await chrooted.WaitUntilListeningAsync();
        var second = await other.WaitUntilListeningAsync();
        await chrooted.WaitForLineAsync("redis: instance");
        await other.WaitForLineAsync("redis: instance");

        await Pairing.PairAsync(first, second);
        await Pairing.PairAsync(second, first);

        chrooted.Signal(15);
        Assert.Equal(0, await chrooted.WaitForExitAsync(TimeSpan.FromSeconds(5)));
    }

    [SkippableFact(Timeout = 30_000)]
    public async Task Tstun_with_redis_in_a_root_without_dev_urandom_says_so_and_pairs_locally()
    {
        string binary = RepositoryPaths.RequireArtifact("tstun/tstun");
        RepositoryPaths.RequireRoot("chroot");
        using var redis = await RedisServer.StartAsync();
        using var root = new EmptyRoot(binary);
        using var server = ServerProcess.StartIn(root.Path, root.Executable, "--port", "0", "--bind", "127.0.0.1", "--redis", redis.Configuration);
        var endPoint = await server.WaitUntilListeningAsync();
        await server.WaitForLineAsync("the Redis client needs /dev/urandom");

        await Pairing.PairAsync(endPoint);

        server.Signal(15);
        Assert.Equal(0, await server.WaitForExitAsync(TimeSpan.FromSeconds(5)));
    }

    [SkippableFact(Timeout = 30_000)]
    public async Task Punchhole_runs_inside_an_empty_root_and_shows_its_help()
    {
        var (exitCode, help) = await RunPunchholeInEmptyRootAsync("-h");
        Assert.Equal(0, exitCode);
        Assert.StartsWith("Usage: punchhole", help, StringComparison.Ordinal);
        Assert.Contains("-L, --listen", help, StringComparison.Ordinal);
    }

    [SkippableFact(Timeout = 30_000)]
    public async Task Punchhole_has_libsodium_linked_in_and_its_crypto_works_inside_an_empty_root()
    {
        var (exitCode, output) = await RunPunchholeInEmptyRootAsync("--self-test-crypto");
        Assert.Equal(0, exitCode);
        string aes = Punchhole.Secure.Sodium.Aes256Gcm.IsAvailable ? "aes256gcm" : "aes256gcm not on this CPU";
        Assert.Equal($"libsodium 1.0.18: sha512, cpace, chacha20poly1305 records ok, {aes}", output.TrimEnd());
    }

    [SkippableFact]
    public void Punchhole_has_no_OpenSSL_in_it()
    {
        string binary = RepositoryPaths.RequireArtifact("punchhole/punchhole");
        byte[] bytes = File.ReadAllBytes(binary);
        foreach (string name in new[] { "libssl", "libcrypto.so", "OpenSSL" })
        {
            Assert.True(bytes.AsSpan().IndexOf(System.Text.Encoding.ASCII.GetBytes(name)) < 0, $"the binary mentions {name}");
        }
    }

    [SkippableFact(Timeout = 120_000)]
    public async Task A_pair_of_static_clients_in_empty_roots_chats_and_transfers_securely()
    {
        string binary = RepositoryPaths.RequireArtifact("punchhole/punchhole");
        RepositoryPaths.RequireRoot("chroot");
        using var root = new EmptyRoot(binary);
        using var server = ServerProcess.Start(ServerProcess.BuiltExecutable, "--port", "0", "--bind", "127.0.0.1", "--stats-interval", "0");
        var endPoint = await server.WaitUntilListeningAsync(TimeSpan.FromSeconds(20));
        var client = new Launcher("chroot", root.Path, root.Executable);
        var chat = await ClientPair.ChatAsync(client, endPoint, TimeSpan.FromSeconds(30));
        Assert.Contains(chat, l => l.Contains("authenticated and encrypted", StringComparison.Ordinal));
        await ClientPair.TransferAsync(client, endPoint, 4 * 1024 * 1024, TimeSpan.FromSeconds(30));
    }

    /// <summary>Runs the published punchhole with <paramref name="args"/> in an empty root; its exit code and stdout.</summary>
    private static async Task<(int? ExitCode, string Output)> RunPunchholeInEmptyRootAsync(params string[] args)
    {
        string binary = RepositoryPaths.RequireArtifact("punchhole/punchhole");
        RepositoryPaths.RequireRoot("chroot");
        using var root = new EmptyRoot(binary);
        using var client = ChildProcess.Start("chroot", [root.Path, root.Executable, .. args]);
        var output = new StreamReader(client.Output).ReadToEndAsync();
        int? exitCode = await client.WaitForExitAsync(TimeSpan.FromSeconds(10));
        return (exitCode, await output);
    }

    internal static async Task<string> DescribeAsync(string binary)
    {
        var info = new ProcessStartInfo("file", ["-b", binary]) { RedirectStandardOutput = true };
        using var file = Process.Start(info)!;
        string output = await file.StandardOutput.ReadToEndAsync();
        await file.WaitForExitAsync();
        return output;
    }
}
