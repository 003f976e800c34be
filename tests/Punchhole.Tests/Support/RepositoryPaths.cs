namespace Punchhole.Tests.Support;

/// <summary>Where the repository's files are, found from the test assembly's folder.</summary>
internal static class RepositoryPaths
{
    public static string Root { get; } = FindRoot();

    /// <summary>The folder scripts/publish.sh writes the static binaries to.</summary>
    public static string Artifacts => Path.Combine(Root, "artifacts");

    /// <summary>True when running under CI, where nothing that should run may be skipped.</summary>
    public static bool InCi => Environment.GetEnvironmentVariable("CI") is "true" or "1";

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Punchhole.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException($"Punchhole.sln not found above {AppContext.BaseDirectory}");
    }

    /// <summary>
    /// A published static binary, or a skip with the reason. Under CI a missing binary is a
    /// failure, since .ci/run publishes them first.
    /// </summary>
    public static string RequireArtifact(string relativePath)
    {
        string path = Path.Combine(Artifacts, relativePath);
        if (!File.Exists(path))
        {
            string why = $"{path} is missing: run scripts/publish.sh first";
            Assert.False(InCi, why);
            Skip.If(true, why);
        }
        return path;
    }

    /// <summary>The full path of a command on PATH, or a skip with the reason (under CI, a failure: .ci/run installs it).</summary>
    public static string RequireCommand(string name, string package)
    {
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            string path = Path.Combine(dir, name);
            if (File.Exists(path))
            {
                return path;
            }
        }
        string why = $"{name} is not installed (apt-get install {package})";
        Assert.False(InCi, why);
        Skip.If(true, why);
        return name;
    }

    /// <summary>Skips (or, under CI, fails) unless the tests run as root.</summary>
    public static void RequireRoot(string what)
    {
        if (Environment.UserName != "root")
        {
            string why = $"{what} needs root";
            Assert.False(InCi, why);
            Skip.If(true, why);
        }
    }
}
