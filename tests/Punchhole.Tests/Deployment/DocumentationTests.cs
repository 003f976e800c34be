using System.Text;
using System.Text.RegularExpressions;
using Punchhole.Protocol.V2;
using Punchhole.Server;
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

    /// <summary>The text of docs/PROTOCOL.md from "## T-STUN/2" to the next second-level heading or the end.</summary>
    private static string Version2Section()
    {
        string protocol = Read("docs/PROTOCOL.md");
        int start = protocol.IndexOf("\n## T-STUN/2\n", StringComparison.Ordinal);
        Assert.True(start >= 0, "docs/PROTOCOL.md has no \"## T-STUN/2\" section");
        int end = protocol.IndexOf("\n## ", start + 1, StringComparison.Ordinal);
        return end < 0 ? protocol[start..] : protocol[start..end];
    }

    [Fact]
    public void The_version_2_section_is_a_specification_whose_example_lines_parse_as_written()
    {
        string section = Version2Section();
        Assert.DoesNotContain("designed in a later issue", section, StringComparison.Ordinal);
        Assert.DoesNotContain("Not specified yet", section, StringComparison.Ordinal);

        // The exchange's example: every line the server or the client sends, parsed by the library that speaks it.
        var sent = section.Split('\n')
            .Where(line => line.StartsWith("S->C  ", StringComparison.Ordinal) || line.StartsWith("C->S  ", StringComparison.Ordinal))
            .Select(line => line[6..])
            .Where(line => line.StartsWith("T-STUN/2 HELLO ", StringComparison.Ordinal) || line.StartsWith("CAND ", StringComparison.Ordinal) || line.StartsWith("PEER ", StringComparison.Ordinal))
            .ToArray();
        Assert.Equal(3, sent.Length);
        var candidates = new CandidateList();
        Assert.True(Hello.TryParse(Encoding.ASCII.GetBytes(sent[0] + "\n"), out _, out var offered), sent[0]);
        Assert.Equal(ServerFlags.Relay, offered);
        Assert.True(CandidateLine.TryParse(Encoding.ASCII.GetBytes(sent[1] + "\n"), out var asked, ref candidates), sent[1]);
        Assert.Equal(ClientFlags.RelayOk, asked);
        Assert.Equal(2, candidates.Count);
        Assert.True(PeerLine.TryParse(Encoding.ASCII.GetBytes(sent[2] + "\n"), out _, out var token, ref candidates), sent[2]);
        Assert.False(token.IsEmpty);
        Assert.Equal(1, candidates.Count);
        Assert.True(RelayStatus.TryParse("JOINED\n"u8, out bool joined, out _) && joined);
        Assert.Contains("`JOINED`", section, StringComparison.Ordinal);
        Assert.Contains("`COLLISION`", section, StringComparison.Ordinal);
        Assert.True(Collision.Matches("COLLISION\n"u8));
    }

    [Fact]
    public void The_version_2_section_states_the_bounds_and_refusals_the_library_enforces()
    {
        string section = Version2Section();
        Assert.Contains($"| candidates in a `CAND` or `PEER` line | {TStun2.MaxCandidates} |", section, StringComparison.Ordinal);
        Assert.Contains($"| hello line | {TStun2.MaxHelloLength} bytes |", section, StringComparison.Ordinal);
        Assert.Contains($"| `CAND` line | {TStun2.MaxCandidateLineLength} bytes |", section, StringComparison.Ordinal);
        Assert.Contains($"| `PEER` line | {TStun2.MaxPeerLineLength} bytes |", section, StringComparison.Ordinal);
        Assert.Contains($"| relay status line (`JOINED`, `REFUSED REASON`) | {TStun2.MaxRelayStatusLength} bytes |", section, StringComparison.Ordinal);
        Assert.Contains($"| flags token | {TStun2.MaxFlagsLength} bytes |", section, StringComparison.Ordinal);
        foreach (var reason in new[] { RelayRefusal.Token, RelayRefusal.Off, RelayRefusal.Busy, RelayRefusal.PerIp, RelayRefusal.Timeout, RelayRefusal.Shutdown })
        {
            Assert.Contains($"`{Encoding.ASCII.GetString(RelayStatus.Word(reason))}`", section, StringComparison.Ordinal);
        }
        Assert.Contains($"**{RelayOptions.TokenLifetime.TotalSeconds:0} s**", section, StringComparison.Ordinal);
    }

    [Fact]
    public void The_version_2_section_names_every_relay_option_of_tstun_with_its_default()
    {
        string section = Version2Section();
        var defaults = new RelayOptions();
        foreach (var (option, value) in new[]
        {
            ("--relay-max", $"{defaults.MaxSessions}"),
            ("--relay-max-per-ip", $"{defaults.MaxPerIp}"),
            ("--relay-max-mib", $"{defaults.MaxBytes >> 20} MiB"),
            ("--relay-max-time", $"{defaults.MaxDuration.TotalSeconds:0} s"),
            ("--relay-mbit", $"{defaults.BytesPerSecond / 125_000} Mbit/s"),
            ("--relay-wait", $"{defaults.JoinTimeout.TotalSeconds:0} s"),
        })
        {
            Assert.Contains($"(`{option}`, {value}", section, StringComparison.Ordinal);
            Assert.Contains(option + " ", ServerCommandLine.Usage, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void The_version_2_section_gives_the_security_reasoning_for_candidates_and_says_why_v1_is_never_confused()
    {
        string section = Version2Section();
        Assert.Contains("### Candidates: whom they reach, and why that is safe", section, StringComparison.Ordinal);
        Assert.Contains("**They reach the peer only.**", section, StringComparison.Ordinal);
        Assert.Contains("**A private address can reach the wrong host.**", section, StringComparison.Ordinal);
        Assert.Contains("### Why a v1 party is never confused", section, StringComparison.Ordinal);
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
