namespace Punchhole.Tests.NatLab;

/// <summary>
/// The published punchhole where the NATs answer unsolicited SYNs with RST: where the original is
/// refused. The punches run over a path with delay (<see cref="PathDelay"/>), as real ones do.
/// </summary>
public partial class RstNatTests
{
    [SkippableFact(Timeout = 60_000)]
    public async Task Punchhole_chat_crosses_in_both_directions()
    {
        using var line = PathDelay.Add(fixture.Lab);
        await PunchScenarios.ChatAsync(fixture.Lab, V4);
    }

    [SkippableFact(Timeout = 120_000)]
    public async Task Punchhole_exchanges_files_in_both_directions_at_once()
    {
        using var line = PathDelay.Add(fixture.Lab);
        await PunchScenarios.ExchangeFilesAsync(fixture.Lab, V4, 16 << 20);
    }

    [SkippableFact(Timeout = 90_000)]
    public async Task Punchhole_connects_three_times_in_a_row()
    {
        using var line = PathDelay.Add(fixture.Lab);
        await PunchScenarios.PunchesInARowAsync(fixture.Lab, V4, 3);
    }

    [SkippableFact(Timeout = 90_000)]
    public async Task Punchhole_connects_over_IPv6_through_firewalls_that_reset()
    {
        using var line = PathDelay.Add(fixture.Lab);
        await PunchScenarios.PunchesInARowAsync(fixture.Lab, System.Net.Sockets.AddressFamily.InterNetworkV6, 2);
    }
}
