using System.Diagnostics;
using System.Reflection;
using Punchhole.Tests.Support;
using Xunit.Abstractions;

namespace Punchhole.Tests.Deployment;

/// <summary>
/// The .NET tool package that scripts/pack.sh builds, installed the way a user installs it
/// (dotnet tool install), from the local folder only, into a temporary tool path.
/// </summary>
[Collection(HeavyCollection.Name)]
public class DotnetToolTests(ITestOutputHelper output)
{
    /// <summary>Each step (an install, a program's start, a pair) gets this long on a loaded machine.</summary>
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(120);

    /// <summary>The version every project is built with (Directory.Build.props), without the commit.</summary>
    internal static string Version { get; } =
        typeof(Punchhole.Client.ClientOptions).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!
            .InformationalVersion.Split('+')[0];

    [SkippableFact(Timeout = 600_000)]
    public async Task The_installed_tool_pairs_through_tstun_then_chats_and_moves_16_MiB()
    {
        RepositoryPaths.RequireArtifact($"nupkg/punchhole.{Version}.nupkg");
        using var home = new TemporaryFolder();
        string tool = await InstallAsync(home.Path);

        // Framework-dependent: the command runs punchhole.dll on the shared runtime; no native code of ours.
        string store = Path.Combine(home.Path, "tools", ".store", "punchhole", Version);
        var files = Directory.GetFiles(store, "*", SearchOption.AllDirectories);
        Assert.Contains(files, f => f.EndsWith("/tools/net10.0/any/punchhole.dll", StringComparison.Ordinal));
        Assert.Contains(files, f => f.EndsWith("/tools/net10.0/any/runtimes/linux-x64/native/libsodium.so", StringComparison.Ordinal));
        Assert.Contains(files, f => f.EndsWith("/tools/net10.0/any/runtimes/win-x64/native/libsodium.dll", StringComparison.Ordinal));
        Assert.Contains(files, f => f.EndsWith("/tools/net10.0/any/runtimes/osx-arm64/native/libsodium.dylib", StringComparison.Ordinal));
        Assert.DoesNotContain(files, f => f.Contains("/runtimes/android-", StringComparison.Ordinal));

        using (var version = ChildProcess.Start(tool, "--version"))
        {
            var text = new StreamReader(version.Output).ReadToEndAsync();
            Assert.Equal(0, await version.WaitForExitAsync(Wait));
            Assert.StartsWith($"punchhole {Version}+", await text, StringComparison.Ordinal);
        }

        using var server = ServerProcess.Start(ServerProcess.BuiltExecutable, "--port", "0", "--bind", "127.0.0.1", "--stats-interval", "0");
        var endPoint = await server.WaitUntilListeningAsync(Wait);
        var client = new Launcher(tool);
        var transcript = new List<string> { $"$ dotnet tool install punchhole --tool-path {home.Path}/tools --version {Version} (local source only)" };
        try
        {
            // Secure by default: the handshake and the records run on the NuGet package's libsodium.
            var secure = await ClientPair.ChatAsync(client, endPoint, Wait);
            transcript.AddRange(secure);
            Assert.Contains(secure, l => l.Contains("authenticated and encrypted", StringComparison.Ordinal));
            transcript.AddRange(await ClientPair.TransferAsync(client, endPoint, 16 * 1024 * 1024, Wait));
            transcript.AddRange(await ClientPair.ChatAsync(client, endPoint, Wait, "--plain"));
            transcript.AddRange(await ClientPair.TransferAsync(client, endPoint, 16 * 1024 * 1024, Wait, "--plain"));
        }
        finally
        {
            transcript.ForEach(output.WriteLine);
        }
    }

    /// <summary>
    /// dotnet tool install from artifacts/nupkg and nothing else, with a private package cache,
    /// so neither a registry nor an older cached build of the same version can stand in for it.
    /// Returns the installed command.
    /// </summary>
    private async Task<string> InstallAsync(string home)
    {
        string config = Path.Combine(home, "nuget.config");
        await File.WriteAllTextAsync(config, $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="artifacts" value="{Path.Combine(RepositoryPaths.Artifacts, "nupkg")}" />
              </packageSources>
            </configuration>
            """);
        var info = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { "tool", "install", "punchhole", "--tool-path", Path.Combine(home, "tools"), "--configfile", config, "--version", Version },
            Environment = { ["NUGET_PACKAGES"] = Path.Combine(home, "packages"), ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1", ["DOTNET_NOLOGO"] = "1" },
        };
        using var install = ChildProcess.Start(info);
        var text = new StreamReader(install.Output).ReadToEndAsync();
        int? status = await install.WaitForExitAsync(Wait);
        output.WriteLine(await text);
        Assert.True(status == 0, $"dotnet tool install exited {status}: {await text} {string.Join('\n', install.Lines)}");
        return Path.Combine(home, "tools", "punchhole");
    }
}
