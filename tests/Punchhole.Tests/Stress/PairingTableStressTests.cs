using Punchhole.Tests.Stress.Flawed;
using Punchhole.Tests.Support;
using Xunit.Abstractions;

namespace Punchhole.Tests.Stress;

/// <summary>
/// tstun's lock-free pairing table under fire: more threads than cores pair, wait, time out,
/// disconnect and give up dead waiters on a few shared keys for a few seconds, and <see cref="StressChecker"/> judges every
/// operation afterwards from the threads' own logs. The checker can fail, and is shown to: the same
/// table source, built into the tests with a deliberate flaw, must be caught within a few rounds.
/// </summary>
[Collection(HeavyCollection.Name)]
public class PairingTableStressTests(ITestOutputHelper output)
{
    private static readonly int Workers = Environment.ProcessorCount * 2 + 2;

    /// <summary>Few keys and a cap below them: the table is often full, and arrivals race on every key.</summary>
    [Theory(Timeout = 90_000)]
    [InlineData(16, 64, 1)]
    [InlineData(12, 4, 2)]
    [InlineData(3, 2, 3)]
    public Task The_lock_free_table_hands_each_waiter_out_once_and_keeps_its_counts(int keys, int capacity, int seed) => Task.Run(() =>
    {
        var run = new StressRun(new ServerTable(capacity), keys, Workers, seed);
        run.Run(TimeSpan.FromSeconds(2.5));
        var checker = StressChecker.Check(run);
        output.WriteLine($"{Workers} threads on {Environment.ProcessorCount} cores");
        output.WriteLine(checker.Summary(run));
        Assert.True(checker.Clean, checker.Summary(run));
        // The run must have exercised every path, or a clean result means little.
        Assert.True(checker.Pairs > 1000 && checker.Waits > 1000 && checker.Lefts > 100 && checker.GaveUp > 100, checker.Summary(run));
        Assert.True(capacity > keys || checker.Refused > 100, checker.Summary(run));
    });

    /// <summary>
    /// Each flaw must be caught within ten rounds of a second, and by the kind of check meant for it
    /// (the unlink race breaks the chains themselves, which any of several checks may see first).
    /// </summary>
    [Theory(Timeout = 120_000)]
    [InlineData(PairingTableFlaw.ClaimWithoutCompareAndSwap, 64, "handed out")]
    [InlineData(PairingTableFlaw.PublishWithoutRecheck, 64, "two waiting with one key")]
    [InlineData(PairingTableFlaw.UnlinkWithoutMark, 4, "")]
    public Task The_checker_catches_a_flawed_table(PairingTableFlaw flaw, int capacity, string expected) => Task.Run(() =>
    {
        for (int round = 1; round <= 10; round++)
        {
            var run = new StressRun(new FlawedTable(capacity, flaw), keys: 8, Workers, seed: round);
            run.Run(TimeSpan.FromSeconds(1));
            var checker = StressChecker.Check(run);
            output.WriteLine($"round {round}: {checker.Summary(run)}");
            if (!checker.Clean)
            {
                Assert.Contains(checker.Kinds, kind => kind.StartsWith(expected, StringComparison.Ordinal));
                return;
            }
        }
        Assert.Fail($"ten rounds of the table with {flaw} passed the checker");
    });

    [Fact(Timeout = 90_000)]
    public Task The_flawed_build_without_its_flaw_passes() => Task.Run(() =>
    {
        var run = new StressRun(new FlawedTable(capacity: 64, PairingTableFlaw.None), keys: 8, Workers, seed: 4);
        run.Run(TimeSpan.FromSeconds(1));
        var checker = StressChecker.Check(run);
        output.WriteLine(checker.Summary(run));
        Assert.True(checker.Clean, checker.Summary(run));
    });
}
