using System.Text.RegularExpressions;
using Punchhole.Tests.Support;

namespace Punchhole.Tests.Deployment;

/// <summary>
/// What a newcomer meets first in a clone: the README's test command works as written (the same
/// packages CI installs, no sudo, which a root shell lacks), and no document points outside the
/// repository or to a file that is not there.
/// </summary>
public partial class DocumentationTests
{
    private static string Read(string relativePath) => File.ReadAllText(Path.Combine(RepositoryPaths.Root, relativePath));

    private static IEnumerable<string> Documents() =>
        new[] { "README.md" }.Concat(Directory.GetFiles(Path.Combine(RepositoryPaths.Root, "docs"), "*.md")
            .Select(path => Path.GetRelativePath(RepositoryPaths.Root, path)));

    [Fact]
    public void The_README_test_command_installs_what_CI_installs_and_runs_as_root_without_sudo()
    {
        string command = Assert.Single(Read("README.md").Split('\n'),
            line => line.Contains("apt-get install", StringComparison.Ordinal) && line.Contains("scripts/test.sh", StringComparison.Ordinal));
        Assert.DoesNotContain("sudo", command, StringComparison.Ordinal);
        Assert.Contains("apt-get update && apt-get install ", command, StringComparison.Ordinal);
        // The arm64 libraries come through multiarch, set up before the update in both places.
        Assert.StartsWith("dpkg --add-architecture arm64 && apt-get update", command, StringComparison.Ordinal);
        Assert.Contains("dpkg --add-architecture arm64", Read(".ci/run"), StringComparison.Ordinal);

        string ci = Assert.Single(Read(".ci/run").Split('\n'), line => line.TrimStart().StartsWith("apt-get install", StringComparison.Ordinal));
        Assert.Equal(Packages(ci), Packages(command));
        Assert.Contains("scripts/test.sh", Read(".ci/run"), StringComparison.Ordinal);
    }

    [Fact]
    public void No_document_points_outside_the_repository_or_to_a_missing_file()
    {
        foreach (string document in Documents())
        {
            string text = Read(document);
            Assert.False(text.Contains("../shared", StringComparison.Ordinal), $"{document} points to ../shared, which a clone does not have");
            foreach (Match link in RelativeLink().Matches(text))
            {
                string target = link.Groups[1].Value.Split('#')[0];
                string resolved = Path.GetFullPath(Path.Combine(RepositoryPaths.Root, Path.GetDirectoryName(document)!, target));
                Assert.True(File.Exists(resolved) || Directory.Exists(resolved), $"{document} links to {target}, which is not there");
                Assert.StartsWith(RepositoryPaths.Root, resolved, StringComparison.Ordinal);
            }
        }
    }

    [Fact]
    public void The_protocol_document_keeps_a_marked_place_for_version_2()
    {
        string protocol = Read("docs/PROTOCOL.md");
        Assert.Contains("## T-STUN/2", protocol, StringComparison.Ordinal);
        Assert.Contains("designed in a later issue", protocol, StringComparison.Ordinal);
    }

    /// <summary>The package names after "apt-get install" and its options, up to the end of the command.</summary>
    private static string[] Packages(string line)
    {
        string rest = line[(line.IndexOf("apt-get install", StringComparison.Ordinal) + "apt-get install".Length)..];
        return rest.Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .TakeWhile(word => word is not ("&&" or "||" or ">/dev/null" or "|"))
            .Where(word => !word.StartsWith('-'))
            .Order(StringComparer.Ordinal)
            .ToArray();
    }

    // [text](target) where the target is a path in the repository, not a URL or an anchor.
    [GeneratedRegex(@"\]\((?!https?:|mailto:|#)([^)\s]+)\)")]
    private static partial Regex RelativeLink();
}
