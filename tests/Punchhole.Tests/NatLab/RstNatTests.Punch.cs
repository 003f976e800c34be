namespace Punchhole.Tests.NatLab;

/// <summary>The published punchhole where the NATs answer unsolicited SYNs with RST: where the original is refused.</summary>
public partial class RstNatTests
{
    [SkippableFact(Timeout = 60_000)]
    public Task Punchhole_chat_crosses_in_both_directions() => PunchScenarios.ChatAsync(fixture.Lab, V4);

    [SkippableFact(Timeout = 120_000)]
    public Task Punchhole_exchanges_files_in_both_directions_at_once() =>
        PunchScenarios.ExchangeFilesAsync(fixture.Lab, V4, 16 << 20);

    [SkippableFact(Timeout = 90_000)]
    public Task Punchhole_connects_three_times_in_a_row() => PunchScenarios.PunchesInARowAsync(fixture.Lab, V4, 3);

    [SkippableFact(Timeout = 90_000)]
    public Task Punchhole_connects_over_IPv6_through_firewalls_that_reset() =>
        PunchScenarios.PunchesInARowAsync(fixture.Lab, System.Net.Sockets.AddressFamily.InterNetworkV6, 2);
}
