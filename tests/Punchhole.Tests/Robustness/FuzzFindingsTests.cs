using Punchhole.Client;
using Punchhole.Fuzz;
using Punchhole.Protocol.CommandLine;
using Punchhole.Server;
using Punchhole.Tests.Support;

namespace Punchhole.Tests.Robustness;

/// <summary>
/// The fuzz harnesses' corpus replays clean through the same invariant checks afl-fuzz runs
/// (scripts/fuzz.sh), and each bug the fuzzing found, or that was found while writing its
/// invariants, stays fixed.
/// </summary>
public class FuzzFindingsTests
{
    public static TheoryData<string> Targets() => [.. FuzzTargets.Names];

    [Theory]
    [MemberData(nameof(Targets))]
    public void The_committed_corpus_passes_every_invariant(string target)
    {
        string folder = Path.Combine(RepositoryPaths.Root, "fuzz", "corpus", target);
        var files = Directory.GetFiles(folder);
        Assert.True(files.Length >= 3, $"{folder} holds {files.Length} seeds");
        Assert.True(FuzzTargets.TryGet(target, out var run));
        foreach (string file in files)
        {
            run(File.ReadAllBytes(file));
        }
    }

    [Theory]
    [InlineData("--timeout", "NaN")]
    [InlineData("--key-timeout", "NaN")]
    [InlineData("--stats-interval", "NaN")]
    [InlineData("--defer-accept", "NaN")]
    [InlineData("--timeout", "Infinity")]
    [InlineData("--timeout", "0.00000000001")]
    [InlineData("--key-timeout", "0.00000001")]
    public void Seconds_that_are_not_a_usable_duration_are_an_error_not_a_crash(string option, string value)
    {
        // NaN used to pass the range checks and throw from TimeSpan.FromSeconds (an unhandled
        // exception at start-up); a value under one tick used to become a zero timeout.
        var result = ServerCommandLine.Parse([option, value]);
        Assert.Equal(CommandLineAction.Error, result.Action);
        Assert.Contains(value, result.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--punch-timeout", "NaN")]
    [InlineData("--wait-timeout", "NaN")]
    [InlineData("--punch-timeout", "0.00000000001")]
    public void The_client_rejects_the_same_unusable_durations(string option, string value)
    {
        var result = ClientCommandLine.Parse(["-4", "-T", "198.51.100.1", option, value, "key"]);
        Assert.Equal(CommandLineAction.Error, result.Action);
        Assert.Contains(value, result.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("-4T", "198.51.100.1", "-H", "::1\n")]
    [InlineData("-4T", "198.51.100.1", "-L", "a\rb:80")]
    [InlineData("-4T", "198.51.100.1", "-R", "\u001b")]
    [InlineData("-4T", "198.51.100.1", "key", "second\nkey")]
    [InlineData("-4\u0007")]
    [InlineData("--tstun\n=x")]
    public void A_client_error_is_one_printable_line_whatever_the_argument_holds(params string[] args)
    {
        var result = ClientCommandLine.Parse(args);
        Assert.Equal(CommandLineAction.Error, result.Action);
        CommandLineTargets.CheckOneLine(result.Error);
    }

    [Theory]
    [InlineData("--port", "34\n77")]
    [InlineData("--bind", "::1\r\n2024-01-01T00:00:00.000Z tstun: forged line")]
    [InlineData("--frob\u001b[2Jnicate")]
    [InlineData("extra\targument")]
    public void An_error_is_one_printable_line_whatever_the_argument_holds(params string[] args)
    {
        // Found by afl-fuzz (server-cmdline): the error echoed control characters, so one bad
        // argument could print several lines, or forge a log line, on the operator's stderr.
        var result = ServerCommandLine.Parse(args);
        Assert.Equal(CommandLineAction.Error, result.Action);
        CommandLineTargets.CheckOneLine(result.Error);
        Assert.Contains("\\u00", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_huge_argument_is_cut_in_the_error()
    {
        var result = ServerCommandLine.Parse(["--port", new string('9', 100_000)]);
        Assert.Equal(CommandLineAction.Error, result.Action);
        Assert.InRange(result.Error!.Length, 1, 200);
    }
}
