namespace Punchhole.Tests.Support;

/// <summary>A new folder under the system's temporary folder, removed with everything in it afterwards.</summary>
internal class TemporaryFolder : IDisposable
{
    public TemporaryFolder(string prefix = "punchhole-test-") => Path = Directory.CreateTempSubdirectory(prefix).FullName;

    public string Path { get; }

    public void Dispose()
    {
        Directory.Delete(Path, recursive: true);
        GC.SuppressFinalize(this);
    }
}
