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
            File.Copy(file, Path + Inside(file));
        }
        Assert.Equal(files.Length, Directory.GetFileSystemEntries(Path).Length);
    }

    /// <summary>The first file's path inside the root.</summary>
    public string Executable { get; }

    /// <summary>Where a file copied in sits inside the root.</summary>
    public static string Inside(string file) => "/" + System.IO.Path.GetFileName(file);
}
