using System.Text.RegularExpressions;
using Punchhole.Tests.Support;

namespace Punchhole.Tests.Deployment;

/// <summary>
/// punchhole(1), tstun(8) and the bash completions, as scripts/generate-docs.sh makes them from
/// the programs' -h: every option of -h is in the page and the completion, and every option the
/// page or the completion names is one the program has.
/// </summary>
public sealed partial class ManualPageTests(ManualPageTests.GeneratedDocs docs) : IClassFixture<ManualPageTests.GeneratedDocs>
{
    /// <summary>Starting the programs takes seconds on a loaded machine.</summary>
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(90);

    /// <summary>What scripts/generate-docs.sh makes from the JIT builds of the programs, once for all these tests.</summary>
    public sealed class GeneratedDocs : IAsyncLifetime, IDisposable
    {
        private readonly TemporaryFolder _out = new("punchhole-docs-");

        public string Path => _out.Path;

        public async Task InitializeAsync()
        {
            using var generate = ChildProcess.Start(System.IO.Path.Combine(RepositoryPaths.Root, "scripts", "generate-docs.sh"),
                _out.Path, ChildProcess.Built("punchhole"), ChildProcess.Built("tstun"));
            int? status = await generate.WaitForExitAsync(Wait);
            Assert.True(status == 0, $"generate-docs.sh exited {status}: {string.Join('\n', generate.Lines)}");
        }

        public Task DisposeAsync() => Task.CompletedTask;

        public void Dispose() => _out.Dispose();
    }

    /// <summary>An option as -h defines it: its names (e.g. -T and --tstun) and whether it takes a value.</summary>
    internal sealed record HelpOption(string[] Names, bool TakesValue);

    [Theory(Timeout = 120_000)]
    [InlineData("punchhole", "1")]
    [InlineData("tstun", "8")]
    public async Task The_page_lists_every_option_of_help_and_names_no_other(string program, string section)
    {
        var options = DefinedOptions(await HelpAsync(program));
        var known = options.SelectMany(o => o.Names).ToHashSet();
        string page = await File.ReadAllTextAsync(Path.Combine(docs.Path, "man", $"{program}.{section}"));

        // Every option of -h heads an entry of OPTIONS, with all its names.
        string optionsSection = Section(page, "OPTIONS");
        var entryHeads = Regex.Matches(optionsSection, @"^\.TP\n(.*)$", RegexOptions.Multiline).Select(m => BoldOptions(m.Groups[1].Value).ToHashSet()).ToList();
        foreach (var option in options)
        {
            Assert.Contains(entryHeads, head => head.SetEquals(option.Names));
        }
        Assert.Equal(options.Count, entryHeads.Count);

        // Every option the page shows in bold, anywhere, is one the program has.
        foreach (string bold in BoldOptions(page))
        {
            Assert.True(Expand(bold).All(known.Contains), $"{program}.{section} names {bold}, which '{program} -h' does not have");
        }

        // So is every option of an example command line of the program.
        foreach (string line in ExampleLines(page).Where(l => l.StartsWith(program + " ", StringComparison.Ordinal)))
        {
            foreach (Match token in OptionToken().Matches(line))
            {
                Assert.True(Expand(token.Value).All(known.Contains), $"the example '{line}' uses {token.Value}, which '{program} -h' does not have");
            }
        }

        Assert.DoesNotMatch("@[A-Z]+[:@]", page);
        Assert.Matches($@"(?m)^\.TH {program.ToUpperInvariant()} {section} ""\d{{4}}-\d{{2}}-\d{{2}}"" ""{program} \d+\.\d+\.\d+""", page);
    }

    [SkippableTheory(Timeout = 120_000)]
    [InlineData("punchhole", "1")]
    [InlineData("tstun", "8")]
    public async Task The_page_renders_without_a_warning(string program, string section)
    {
        string groff = RepositoryPaths.RequireCommand("groff", "groff-base");
        using var render = ChildProcess.Start(groff, "-man", "-Tutf8", "-P-cbou", "-ww", Path.Combine(docs.Path, "man", $"{program}.{section}"));
        var text = new StreamReader(render.Output).ReadToEndAsync();
        Assert.Equal(0, await render.WaitForExitAsync(Wait));
        Assert.Empty(render.Lines);
        Assert.Contains("OPTIONS", await text, StringComparison.Ordinal);
    }

    [Theory(Timeout = 120_000)]
    [InlineData("punchhole")]
    [InlineData("tstun")]
    public async Task Bash_completes_exactly_the_options_of_help_and_waits_for_a_value_where_one_is_due(string program)
    {
        var options = DefinedOptions(await HelpAsync(program));
        string all = string.Join(' ', options.SelectMany(o => o.Names).Order(StringComparer.Ordinal));
        string completion = Path.Combine(docs.Path, "bash-completion", program);

        // After each option (and after the program name alone): what "-<TAB>" offers.
        var cases = new List<(string Previous, bool TakesValue)> { (program, false) };
        cases.AddRange(options.SelectMany(o => o.Names.Select(n => (n, o.TakesValue))));
        string script = $"source '{completion}' || exit 3\n" + string.Concat(cases.Select(c =>
            $"COMP_WORDS=({program} {(c.Previous == program ? "" : c.Previous)} -); COMP_CWORD=${{#COMP_WORDS[@]}}; ((COMP_CWORD--)); " +
            $"complete -p {program} >/dev/null || exit 4; _{program}_complete; printf '%s\\n' \"{c.Previous}: $(printf '%s\\n' \"${{COMPREPLY[@]}}\" | LC_ALL=C sort | paste -sd' ')\"\n"));
        using var bash = ChildProcess.Start("bash", "--norc", "-c", script);
        var text = new StreamReader(bash.Output).ReadToEndAsync();
        Assert.Equal(0, await bash.WaitForExitAsync(Wait));
        var offered = (await text).Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split(": ", 2)).ToDictionary(p => p[0], p => p[1]);
        Assert.Equal(cases.Count, offered.Count);
        foreach (var (previous, takesValue) in cases)
        {
            // The option list where an option may come; none where a value is due.
            Assert.Equal(takesValue ? "" : all, offered[previous]);
        }
    }

    private static async Task<string> HelpAsync(string program)
    {
        using var help = ChildProcess.Start(ChildProcess.Built(program), "-h");
        var text = new StreamReader(help.Output).ReadToEndAsync();
        Assert.Equal(0, await help.WaitForExitAsync(Wait));
        return await text;
    }

    /// <summary>
    /// The options -h defines: in its options block (from the first indented line that starts with
    /// '-' to the next empty line), each field that starts with '-' (fields are two or more spaces
    /// apart) is one option: its names, then the name of its value if it takes one.
    /// </summary>
    internal static List<HelpOption> DefinedOptions(string help)
    {
        var lines = help.Split('\n').SkipWhile(l => !Regex.IsMatch(l, @"^\s+-")).TakeWhile(l => l.Trim().Length > 0);
        var options = new List<HelpOption>();
        foreach (string line in lines)
        {
            foreach (string field in Regex.Split(line.Trim(), @"\s{2,}").Where(f => f.StartsWith('-')))
            {
                string[] words = field.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                options.Add(new HelpOption(
                    [.. words.Where(w => w.StartsWith('-')).Select(w => w.TrimEnd(','))],
                    words.Any(w => !w.StartsWith('-'))));
            }
        }
        Assert.NotEmpty(options);
        return options;
    }

    /// <summary>-4sT stands for -4 -s -T; a long option for itself.</summary>
    private static IEnumerable<string> Expand(string option) =>
        option.StartsWith("--", StringComparison.Ordinal) ? [option] : option[1..].Select(c => "-" + c);

    /// <summary>The options a piece of roff shows in bold, hyphens unescaped.</summary>
    private static IEnumerable<string> BoldOptions(string roff) =>
        BoldOption().Matches(roff).Select(m => m.Groups[1].Value.Replace(@"\-", "-", StringComparison.Ordinal));

    private static string Section(string page, string name)
    {
        int start = page.IndexOf($"\n.SH {name}\n", StringComparison.Ordinal);
        Assert.True(start >= 0, $"no {name} section");
        int end = page.IndexOf("\n.SH ", start + 1, StringComparison.Ordinal);
        return page[start..(end < 0 ? page.Length : end)];
    }

    /// <summary>The lines between .EX and .EE, as a reader sees them.</summary>
    private static IEnumerable<string> ExampleLines(string page)
    {
        bool inside = false;
        foreach (string line in page.Split('\n'))
        {
            if (line == ".EX" || line == ".EE")
            {
                inside = line == ".EX";
            }
            else if (inside)
            {
                yield return line.Replace(@"\-", "-", StringComparison.Ordinal).Replace(@"\(aq", "'", StringComparison.Ordinal);
            }
        }
    }

    [GeneratedRegex(@"\\fB((?:\\-){1,2}[A-Za-z0-9](?:\w|\\-)*)\\f[RP]")]
    private static partial Regex BoldOption();

    [GeneratedRegex(@"(?<=\s)--?[A-Za-z0-9][\w-]*")]
    private static partial Regex OptionToken();
}
