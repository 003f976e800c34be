using System.Text.RegularExpressions;
using Punchhole.Tests.Support;
using Xunit.Abstractions;

namespace Punchhole.Tests.Deployment;

/// <summary>
/// The .deb packages that scripts/package-deb.sh builds, installed with dpkg into a scratch root
/// (dpkg --root, maintainer scripts run from the host with DPKG_ROOT set), then purged.
/// </summary>
public sealed partial class DebianPackageTests(ITestOutputHelper output)
{
    /// <summary>Long enough for qemu to start an arm64 program on a loaded machine (10 s was seen).</summary>
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(120);

    private static readonly string[] TstunFiles =
    [
        "/etc/default/tstun",
        "/usr/bin/tstun",
        "/usr/lib/systemd/system/tstun.service",
        "/usr/share/bash-completion/completions/tstun",
        "/usr/share/doc/tstun/copyright",
        "/usr/share/man/man8/tstun.8.gz",
    ];

    private static readonly string[] PunchholeFiles =
    [
        "/usr/bin/punchhole",
        "/usr/share/bash-completion/completions/punchhole",
        "/usr/share/doc/punchhole/copyright",
        "/usr/share/man/man1/punchhole.1.gz",
    ];

    [SkippableTheory(Timeout = 600_000)]
    [InlineData("tstun", "amd64")]
    [InlineData("tstun", "arm64")]
    [InlineData("punchhole", "amd64")]
    [InlineData("punchhole", "arm64")]
    public async Task The_package_installs_its_files_and_nothing_else_and_its_program_runs_then_purges_clean(string program, string arch)
    {
        string deb = RepositoryPaths.RequireArtifact($"deb/{program}_{DotnetToolTests.Version}_{arch}.deb");
        RepositoryPaths.RequireRoot("dpkg --root");
        using var root = new ScratchRoot();
        string info = await root.RunAsync("dpkg-deb", "--field", deb, "Package", "Version", "Architecture");
        Assert.Equal($"Package: {program}\nVersion: {DotnetToolTests.Version}\nArchitecture: {arch}\n", info);

        await root.DpkgAsync("--add-architecture", arch);
        output.WriteLine(await root.DpkgAsync("--install", deb));

        // Exactly the package's files and their folders; the maintainer scripts made nothing (no user, no directory).
        string[] files = program == "tstun" ? TstunFiles : PunchholeFiles;
        Assert.Equal(WithFolders(files), root.Entries());
        Assert.Contains("Status: install ok installed", await root.DpkgAsync("--status", program), StringComparison.Ordinal);
        Assert.Equal("755 root root\n", await root.RunAsync("stat", "-c", "%a %U %G", root.Path + $"/usr/bin/{program}"));
        string manual = program == "tstun" ? "/usr/share/man/man8/tstun.8.gz" : "/usr/share/man/man1/punchhole.1.gz";
        Assert.StartsWith($".TH {program.ToUpperInvariant()} ", await root.RunAsync("sh", "-c", $"zcat '{root.Path}{manual}' | grep '^\\.TH'"), StringComparison.Ordinal);
        if (program == "tstun")
        {
            Assert.Contains("/etc/default/tstun", await root.DpkgAsync("--status", program), StringComparison.Ordinal);
        }

        // The installed program runs: -h and --version, under qemu for arm64.
        string binary = root.Path + $"/usr/bin/{program}";
        var run = arch == "arm64" ? new Launcher(RepositoryPaths.RequireCommand("qemu-aarch64-static", "qemu-user-static"), binary) : new Launcher(binary);
        Assert.StartsWith($"{program} {DotnetToolTests.Version}+", await root.RunAsync(run, "--version"), StringComparison.Ordinal);
        Assert.StartsWith($"Usage: {program} ", await root.RunAsync(run, "-h"), StringComparison.Ordinal);

        // Purge takes away everything, the conffile too.
        output.WriteLine(await root.DpkgAsync("--purge", program));
        Assert.Empty(root.Entries());
    }

    [SkippableFact(Timeout = 300_000)]
    public async Task Tstun_starts_as_its_unit_would_with_the_default_settings_and_pairs()
    {
        string deb = RepositoryPaths.RequireArtifact($"deb/tstun_{DotnetToolTests.Version}_amd64.deb");
        RepositoryPaths.RequireRoot("dpkg --root");
        using var root = new ScratchRoot();
        await root.DpkgAsync("--install", deb);
        string unit = await File.ReadAllTextAsync(root.Path + "/usr/lib/systemd/system/tstun.service");
        Assert.Contains("DynamicUser=yes", unit, StringComparison.Ordinal);
        Assert.Contains("EnvironmentFile=-/etc/default/tstun", unit, StringComparison.Ordinal);

        // The unit's defaults, then the settings file, as systemd reads them; only the port is
        // changed, to a free one.
        var settings = Assignments(Regex.Match(unit, @"^Environment=(.*)$", RegexOptions.Multiline).Groups[1].Value.Split(' '));
        foreach (var (name, value) in Assignments(await File.ReadAllLinesAsync(root.Path + "/etc/default/tstun")))
        {
            settings[name] = value;
        }
        Assert.Equal("3477", settings["TSTUN_PORT"]);
        settings["TSTUN_PORT"] = "0";
        string execStart = Regex.Match(unit, @"^ExecStart=(.*)$", RegexOptions.Multiline).Groups[1].Value;
        var argv = Expand(execStart, settings);
        Assert.Equal("/usr/bin/tstun", argv[0]);

        using var server = ServerProcess.Start(root.Path + argv[0], [.. argv.Skip(1)]);
        output.WriteLine(string.Join(' ', argv));
        var endPoint = await server.WaitUntilListeningAsync(Wait);
        Assert.Contains("timeout 30 s", server.Lines[0], StringComparison.Ordinal);
        Assert.Contains("max waiting 50000", server.Lines[0], StringComparison.Ordinal);
        await Pairing.PairAsync(endPoint);
        server.Signal(15);
        Assert.Equal(0, await server.WaitForExitAsync(TimeSpan.FromSeconds(10)));
    }

    [SkippableFact(Timeout = 300_000)]
    public async Task The_unit_parses_cleanly_and_is_hardened()
    {
        string deb = RepositoryPaths.RequireArtifact($"deb/tstun_{DotnetToolTests.Version}_amd64.deb");
        string analyze = RepositoryPaths.RequireCommand("systemd-analyze", "systemd");
        RepositoryPaths.RequireRoot("dpkg --root");
        using var root = new ScratchRoot();
        await root.DpkgAsync("--install", deb);

        // A key this systemd does not know or a value it cannot parse is reported as "FILE:LINE: ...".
        // Complaints about what a scratch root lacks (sysinit.target, /bin/kill) are not the unit's.
        using (var verify = ChildProcess.Start(analyze, "verify", "--man=no", $"--root={root.Path}", "tstun.service"))
        {
            await verify.WaitForExitAsync(Wait);
            output.WriteLine(string.Join('\n', verify.Lines));
            Assert.DoesNotContain(verify.Lines, line => Regex.IsMatch(line, @"tstun\.service:\d+:"));
        }

        // systemd's own measure of what the service could do if taken over; 10 is a service with no protection.
        string security = await root.RunAsync(analyze, "security", "--offline=true", $"--root={root.Path}", "tstun.service");
        var level = Regex.Match(security, @"Overall exposure level for tstun\.service: (\d+\.\d)");
        output.WriteLine(level.Value);
        Assert.True(level.Success, security);
        Assert.InRange(double.Parse(level.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), 0, 3.5);
    }

    /// <summary>The files and every folder above them, sorted.</summary>
    private static string[] WithFolders(string[] files) =>
    [
        .. files.SelectMany(f => Enumerable.Range(1, f.Count(c => c == '/')).Select(depth => string.Join('/', f.Split('/').Take(depth + 1))))
            .Distinct()
            .Order(StringComparer.Ordinal),
    ];

    /// <summary>NAME=VALUE lines as systemd's EnvironmentFile reads them: comments and blank lines skipped, one level of quotes removed.</summary>
    private static Dictionary<string, string> Assignments(IEnumerable<string> lines)
    {
        var values = new Dictionary<string, string>();
        foreach (string line in lines.Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')))
        {
            int equals = line.IndexOf('=', StringComparison.Ordinal);
            string value = line[(equals + 1)..];
            if (value.Length >= 2 && (value[0] == '"' || value[0] == '\'') && value[^1] == value[0])
            {
                value = value[1..^1];
            }
            values[line[..equals]] = value;
        }
        return values;
    }

    /// <summary>ExecStart's words as systemd expands them: ${NAME} is one word, $NAME splits at spaces.</summary>
    private static List<string> Expand(string command, Dictionary<string, string> values)
    {
        var argv = new List<string>();
        foreach (string word in command.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            var whole = Regex.Match(word, @"^\$\{(\w+)\}$");
            var split = Regex.Match(word, @"^\$(\w+)$");
            if (whole.Success)
            {
                argv.Add(values[whole.Groups[1].Value]);
            }
            else if (split.Success)
            {
                argv.AddRange(values[split.Groups[1].Value].Split(' ', StringSplitOptions.RemoveEmptyEntries));
            }
            else
            {
                Assert.DoesNotContain("$", word, StringComparison.Ordinal);
                argv.Add(word);
            }
        }
        return argv;
    }

    /// <summary>An empty root with a dpkg database of its own.</summary>
    private sealed class ScratchRoot : TemporaryFolder
    {
        public ScratchRoot()
            : base("punchhole-dpkg-")
        {
            foreach (string dir in new[] { "info", "updates", "triggers" })
            {
                Directory.CreateDirectory($"{Path}/var/lib/dpkg/{dir}");
            }
            File.WriteAllText($"{Path}/var/lib/dpkg/status", "");
            File.WriteAllText($"{Path}/var/lib/dpkg/available", "");
        }

        /// <summary>dpkg on this root. Maintainer scripts run from the host (no shell in the root) with DPKG_ROOT set.</summary>
        public Task<string> DpkgAsync(params string[] args) =>
            RunAsync("dpkg", [$"--root={Path}", "--force-script-chrootless", "--log=/dev/null", .. args]);

        public Task<string> RunAsync(string executable, params string[] args) => RunAsync(new Launcher(executable), args);

        /// <summary>Runs a command to its end; returns its stdout, failing on a non-zero exit status.</summary>
        public async Task<string> RunAsync(Launcher launcher, params string[] args)
        {
            using var process = launcher.Start(args);
            var text = new StreamReader(process.Output).ReadToEndAsync();
            int? status = await process.WaitForExitAsync(Wait);
            Assert.True(status == 0, $"{launcher} {string.Join(' ', args)} exited {status}: {string.Join('\n', process.Lines)}");
            return await text;
        }

        /// <summary>Every file and folder in the root, sorted, but dpkg's database and the folders above it.</summary>
        public string[] Entries() =>
        [
            .. Directory.GetFileSystemEntries(Path, "*", SearchOption.AllDirectories)
                .Select(f => f[Path.Length..])
                .Where(f => f is not ("/var" or "/var/lib" or "/var/lib/dpkg") && !f.StartsWith("/var/lib/dpkg/", StringComparison.Ordinal))
                .Order(StringComparer.Ordinal),
        ];
    }
}
