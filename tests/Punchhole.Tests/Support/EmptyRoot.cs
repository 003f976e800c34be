namespace Punchhole.Tests.Support;

/// <summary>A temporary root holding nothing but the given files (at its top), removed afterwards.</summary>
internal sealed class EmptyRoot : TemporaryFolder
{
    public EmptyRoot(params string[] files)
        : base("punchhole-root-")
    {
        Executable = Inside(files[0]);
        foreach (string file in files)
        {
            // Copied by cp, not by this process: a child another test forks while this process
            // holds the new file open for writing would inherit that descriptor until its exec,
            // and running the file meanwhile fails with ETXTBSY ("Text file busy").
            using var cp = System.Diagnostics.Process.Start("cp", ["--preserve=mode", file, Path + Inside(file)]);
            Assert.True(cp.WaitForExit(30_000) && cp.ExitCode == 0, $"cp {file} failed");
        }
        Assert.Equal(files.Length, Directory.GetFileSystemEntries(Path).Length);
    }

    /// <summary>The first file's path inside the root.</summary>
    public string Executable { get; }

    /// <summary>Where a file copied in sits inside the root.</summary>
    public static string Inside(string file) => "/" + System.IO.Path.GetFileName(file);
}
