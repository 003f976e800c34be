namespace Punchhole.Tests.NatLab;

/// <summary>The published punchhole through two port-preserving, SYN-dropping NATs (IPv4).</summary>
public partial class DropNatTests
{
    [SkippableFact(Timeout = 60_000)]
    public Task Punchhole_chat_crosses_in_both_directions() => PunchScenarios.ChatAsync(fixture.Lab, V4);

    [SkippableFact(Timeout = 120_000)]
    public Task Punchhole_sends_64_MiB_with_s_and_r_that_arrive_with_the_same_SHA256() =>
        PunchScenarios.SendFileAsync(fixture.Lab, V4, 64 << 20);

    [SkippableFact(Timeout = 120_000)]
    public Task Punchhole_exchanges_files_in_both_directions_at_once() =>
        PunchScenarios.ExchangeFilesAsync(fixture.Lab, V4, 16 << 20);

    [SkippableFact(Timeout = 60_000)]
    public Task Punchhole_forwards_a_TCP_service_with_L_and_R() => PunchScenarios.ForwardAsync(fixture.Lab, V4);

    [SkippableFact(Timeout = 90_000)]
    public Task Punchhole_connects_three_times_in_a_row() => PunchScenarios.PunchesInARowAsync(fixture.Lab, V4, 3);
}
