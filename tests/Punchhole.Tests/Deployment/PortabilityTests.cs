using System.Text.RegularExpressions;
using Punchhole.Tests.Support;

namespace Punchhole.Tests.Deployment;

/// <summary>
/// The client runs wherever .NET does (the .NET tool), so its code and the code it references
/// keep what is bound to one OS in the few files the README lists under "The client's
/// OS-specific code": a new libc call, /proc or /dev path, signal, raw socket option or
/// terminal call elsewhere fails here until it is guarded and listed.
/// </summary>
public sealed partial class PortabilityTests
{
    [Fact]
    public void The_clients_OS_specific_code_is_exactly_the_files_the_README_lists()
    {
        var found = ClientSourceFiles()
            .Where(file => OsBound().IsMatch(File.ReadAllText(file)))
            .Select(file => Path.GetRelativePath(RepositoryPaths.Root, file))
            .Order(StringComparer.Ordinal)
            .ToList();
        Assert.Equal(ListedInReadme(), found);
    }

    [Fact]
    public void Every_file_that_calls_libc_checks_the_OS_first()
    {
        var callers = ClientSourceFiles().Where(file => File.ReadAllText(file).Contains("Import(\"libc\"", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(callers);
        Assert.All(callers, file => Assert.Contains("OperatingSystem.IsLinux()", File.ReadAllText(file), StringComparison.Ordinal));
    }

    /// <summary>The .cs files of the client project and of every project it references, transitively.</summary>
    private static IEnumerable<string> ClientSourceFiles()
    {
        var projects = new HashSet<string>();
        var pending = new Stack<string>([Path.Combine(RepositoryPaths.Root, "src", "Punchhole.Client", "Punchhole.Client.csproj")]);
        while (pending.TryPop(out string? project))
        {
            project = Path.GetFullPath(project);
            if (!projects.Add(project))
            {
                continue;
            }
            foreach (Match reference in ProjectReference().Matches(File.ReadAllText(project)))
            {
                pending.Push(Path.Combine(Path.GetDirectoryName(project)!, reference.Groups[1].Value.Replace('\\', '/')));
            }
        }
        Assert.Contains(projects, p => p.EndsWith("Punchhole.Protocol.csproj", StringComparison.Ordinal));
        return projects.SelectMany(project => Directory.GetFiles(Path.GetDirectoryName(project)!, "*.cs", SearchOption.AllDirectories))
            .Where(file => !file.Contains("/obj/", StringComparison.Ordinal) && !file.Contains("/bin/", StringComparison.Ordinal));
    }

    /// <summary>The paths in the first column of the README's table of the client's OS-specific code.</summary>
    private static List<string> ListedInReadme()
    {
        string readme = File.ReadAllText(Path.Combine(RepositoryPaths.Root, "README.md"));
        int start = readme.IndexOf("### The client's OS-specific code", StringComparison.Ordinal);
        Assert.True(start >= 0, "README.md has no section \"The client's OS-specific code\"");
        int end = readme.IndexOf("\n#", start + 1, StringComparison.Ordinal);
        string section = readme[start..(end < 0 ? readme.Length : end)];
        var listed = ListedFile().Matches(section).Select(m => m.Groups[1].Value).Order(StringComparer.Ordinal).ToList();
        Assert.NotEmpty(listed);
        return listed;
    }

    /// <summary>
    /// What ties code to one OS: libc, paths under /proc or /dev, POSIX signals, raw socket options
    /// and ioctls, options whose meaning differs per OS (address reuse), terminal control, and the
    /// OS checks that guard them.
    /// </summary>
    [GeneratedRegex("""Import\("libc"|"/proc/|"/dev/|PosixSignal|RawSocketOption|IOControl\(|SocketOptionName\.Reuse|Console\.(ReadKey|KeyAvailable|Cursor|Window|TreatControlC)|isatty|OperatingSystem\.Is""")]
    private static partial Regex OsBound();

    [GeneratedRegex("<ProjectReference Include=\"([^\"]+)\"")]
    private static partial Regex ProjectReference();

    [GeneratedRegex(@"^\| `(src/[^`]+\.cs)` \|", RegexOptions.Multiline)]
    private static partial Regex ListedFile();
}
