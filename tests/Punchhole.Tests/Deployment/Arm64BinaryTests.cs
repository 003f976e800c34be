using Punchhole.Tests.Support;
using Xunit.Abstractions;

namespace Punchhole.Tests.Deployment;

/// <summary>
/// The linux-arm64 static binaries that scripts/publish.sh linux-arm64 cross-compiles, run on
/// this x64 machine under qemu-user (qemu-aarch64-static).
/// </summary>
[Collection(HeavyCollection.Name)]
public class Arm64BinaryTests(ITestOutputHelper output)
{
    /// <summary>
    /// qemu-user translates every instruction: starting one program takes about a second of CPU,
    /// which on a loaded 2-core machine was seen to take 10 s; every wait allows for that.
    /// </summary>
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(120);

    /// <summary>The server keeps a client waiting, and the clients wait and punch, long enough for a slow start of the other side.</summary>
    private static readonly string[] PatientServer = ["--timeout", "240"];

    private static readonly string[] PatientClient = ["--wait-timeout", "240", "--punch-timeout", "60"];

    private static string Qemu => RepositoryPaths.RequireCommand("qemu-aarch64-static", "qemu-user-static");

    private static string Binary(string program) => RepositoryPaths.RequireArtifact($"linux-arm64/{program}/{program}");

    [SkippableTheory(Timeout = 300_000)]
    [InlineData("punchhole", "-h", "Usage: punchhole ")]
    [InlineData("tstun", "--version", "tstun 0.")]
    public async Task Each_program_is_an_aarch64_binary_that_runs_in_an_empty_root(string program, string argument, string expected)
    {
        string binary = Binary(program);
        string qemu = Qemu;
        RepositoryPaths.RequireRoot("chroot");
        string description = await StaticBinaryTests.DescribeAsync(binary);
        Assert.Contains("ARM aarch64", description, StringComparison.Ordinal);
        Assert.Contains("static", description, StringComparison.Ordinal);

        // The root holds the binary and the emulator (itself static) and nothing else: no libc, no /proc, no /dev.
        using var root = new EmptyRoot(binary, qemu);
        using var process = ChildProcess.Start("chroot", root.Path, EmptyRoot.Inside(qemu), root.Executable, argument);
        var text = new StreamReader(process.Output).ReadToEndAsync();
        int? status = await process.WaitForExitAsync(Wait);
        Assert.True(status == 0, $"exit status {status}: {string.Join('\n', process.Lines)}");
        Assert.StartsWith(expected, await text, StringComparison.Ordinal);
        output.WriteLine((await text).Split('\n')[0]);
    }

    [SkippableFact(Timeout = 900_000)]
    public async Task Two_arm64_clients_pair_through_an_arm64_tstun_then_chat_and_move_4_MiB()
    {
        string qemu = Qemu;
        string tstun = Binary("tstun");
        var client = new Launcher(qemu, Binary("punchhole"));
        string[] serverArgs = [tstun, "--port", "0", "--bind", "127.0.0.1", "--stats-interval", "0", .. PatientServer];
        using var server = ServerProcess.Start(qemu, serverArgs);
        var endPoint = await server.WaitUntilListeningAsync(Wait);

        var transcript = new List<string> { $"$ {qemu} {string.Join(' ', serverArgs)}" };
        try
        {
            transcript.AddRange(await ClientPair.ChatAsync(client, endPoint, Wait, PatientClient));
            transcript.AddRange(await ClientPair.TransferAsync(client, endPoint, 4 * 1024 * 1024, Wait, PatientClient));
            var stats = await server.StatsAsync(Wait);
            Assert.Equal(2, stats["paired"]);
        }
        finally
        {
            transcript.AddRange(server.Lines.Select(line => $"tstun stderr: {line}"));
            transcript.ForEach(output.WriteLine);
        }
    }
}
