using Punchhole.Tests.Support;

namespace Punchhole.Tests.Client;

/// <summary>stdout and stderr written as the shell expects: in order with other writers of the same file.</summary>
public class StandardStreamTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [Fact(Timeout = 60_000)]
    public async Task Output_and_messages_sharing_a_file_with_other_writers_stay_in_order()
    {
        string file = Path.Combine(Path.GetTempPath(), $"punchhole-shared-{Environment.ProcessId}-{Guid.NewGuid():N}");
        try
        {
            // As in `{ echo header; punchhole -r ...; echo trailer; } > file 2>&1`: one file offset for all.
            using var run = new ClientWithPlainPeer(["-r", "k"], script: $"{{ echo header; \"$0\" \"$@\" < /dev/null; echo trailer; }} > '{file}' 2>&1");
            using (var connection = await run.AcceptAsync())
            {
                await StreamCheck.SendAllAsync(connection, "the data\n"u8.ToArray(), Wait);
                Assert.Equal(0, await run.Client.WaitForExitAsync(Wait));
            }
            string[] lines = await File.ReadAllLinesAsync(file);
            Assert.Equal("header", lines[0]);
            Assert.Equal("trailer", lines[^1]);
            Assert.Contains("the data", lines);
            Assert.Contains(lines, l => l.StartsWith("punchhole: done: ", StringComparison.Ordinal));
            Assert.All(lines[1..^1], l => Assert.True(l == "the data" || l.StartsWith("punchhole: ", StringComparison.Ordinal), l));
        }
        finally
        {
            File.Delete(file);
        }
    }
}
