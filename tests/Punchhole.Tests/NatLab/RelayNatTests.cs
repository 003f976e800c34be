using System.Net.Sockets;
using Punchhole.NatLab;

namespace Punchhole.Tests.NatLab;

/// <summary>
/// Symmetric NATs (no direct TCP is possible over IPv4) with tstun --relay: secure clients continue
/// through the relay within 15 s and say so; with --no-relay they fail with today's diagnosis.
/// </summary>
[Collection(NatLabCollection.Name)]
public class RelayNatTests(RandomPortRelayLab fixture) : IClassFixture<RandomPortRelayLab>
{
    private static readonly TimeSpan RelayBound = TimeSpan.FromSeconds(15);

    [SkippableFact(Timeout = 90_000)]
    public async Task Secure_clients_chat_through_the_relay_within_15_s_and_say_they_are_relayed()
    {
        var lab = fixture.Lab;
        using var pair = PunchPair.Start(lab, LabFixture.RequirePunchhole(), AddressFamily.InterNetwork, secure: true);
        var a = pair.A.WaitForLineAsync(l => l.Contains("the peer knows the code", StringComparison.Ordinal), PunchScenarios.ConnectWait);
        var b = pair.B.WaitForLineAsync(l => l.Contains("the peer knows the code", StringComparison.Ordinal), PunchScenarios.ConnectWait);
        var (lineA, lineB) = (await a, await b);
        Assert.True(lineA is not null && lineB is not null, pair.Describe());
        var elapsed = (lineA.Value.At > lineB.Value.At ? lineA.Value.At : lineB.Value.At) - pair.Started;
        Assert.True(elapsed < RelayBound, $"{elapsed}\n{pair.Describe()}");
        foreach (var client in new[] { pair.A, pair.B })
        {
            Assert.True(client.StderrLines.Any(l => l.Text.Contains("relayed through tstun (no direct path)", StringComparison.Ordinal)), pair.Describe());
        }

        await PunchScenarios.SayAsync(pair.A, pair.B, "hello through the relay\n");
        await PunchScenarios.SayAsync(pair.B, pair.A, "and back\n");
        pair.A.CloseStdin();
        pair.B.CloseStdin();
        var (codeA, codeB, _) = await pair.WaitExitAsync(TimeSpan.FromSeconds(20));
        Assert.True(codeA == 0 && codeB == 0, pair.Describe());
    }

    [SkippableFact(Timeout = 90_000)]
    public async Task With_no_relay_secure_clients_fail_with_the_symmetric_NAT_diagnosis()
    {
        var lab = fixture.Lab;
        using var pair = PunchPair.Start(lab, LabFixture.RequirePunchhole(), AddressFamily.InterNetwork, ["--no-relay"], ["--no-relay"], secure: true);
        var (codeA, codeB, elapsed) = await pair.WaitExitAsync(PunchTrial.FailureBound + TimeSpan.FromSeconds(10));
        Assert.True(codeA == 1 && codeB == 1, pair.Describe());
        Assert.True(pair.A.StderrLines.Any(l => PunchPair.IsSymmetricNatDiagnosis(l.Text)), pair.Describe());
        Assert.True(pair.B.StderrLines.Any(l => PunchPair.IsSymmetricNatDiagnosis(l.Text)), pair.Describe());
        Assert.True(elapsed <= PunchTrial.FailureBound, $"{elapsed}\n{pair.Describe()}");
    }
}
