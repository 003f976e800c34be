namespace Punchhole.Tests.Support;

/// <summary>
/// How big the heavy tests run. CI runs them scaled down; scripts/robustness.sh sets
/// PUNCHHOLE_FULL_SIZE=1 (and TSTUN_BINARY to the static binary) for the full-size figures.
/// </summary>
internal static class Scale
{
    public static bool Full { get; } = Environment.GetEnvironmentVariable("PUNCHHOLE_FULL_SIZE") is "1" or "true";

    /// <summary>The server executable for process tests: TSTUN_BINARY (relative to the repository root), or the build next to the tests.</summary>
    public static string ServerExecutable { get; } =
        Environment.GetEnvironmentVariable("TSTUN_BINARY") is { Length: > 0 } path ? Path.GetFullPath(path, RepositoryPaths.Root) : ServerProcess.BuiltExecutable;

    public static int Pick(int ci, int full) => Full ? full : ci;
}
