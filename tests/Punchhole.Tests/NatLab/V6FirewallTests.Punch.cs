namespace Punchhole.Tests.NatLab;

/// <summary>The published punchhole over IPv6 through two stateful, SYN-dropping firewalls.</summary>
public partial class V6FirewallTests
{
    [SkippableFact(Timeout = 60_000)]
    public Task Punchhole_chat_crosses_in_both_directions() => PunchScenarios.ChatAsync(fixture.Lab, V6);

    [SkippableFact(Timeout = 120_000)]
    public Task Punchhole_sends_64_MiB_with_s_and_r_that_arrive_with_the_same_SHA256() =>
        PunchScenarios.SendFileAsync(fixture.Lab, V6, 64 << 20);

    [SkippableFact(Timeout = 60_000)]
    public Task Punchhole_forwards_a_TCP_service_with_L_and_R() => PunchScenarios.ForwardAsync(fixture.Lab, V6);

    [SkippableFact(Timeout = 90_000)]
    public Task Punchhole_connects_three_times_in_a_row() => PunchScenarios.PunchesInARowAsync(fixture.Lab, V6, 3);
}
