using System.Net;
using System.Net.Sockets;
using Punchhole.NatLab;

namespace Punchhole.Tests.NatLab;

public sealed class SameNatDropLab() : LabFixture(LabVariant.SameNatDrop);

public sealed class SameNatResetLab() : LabFixture(LabVariant.SameNatReset);

/// <summary>The carrier NAT with tstun's relay on (--relay).</summary>
public sealed class CarrierNatRelayLab() : LabFixture(LabVariant.CarrierNat, "--relay");

/// <summary>
/// What both same-NAT labs check: the public punch cannot work (no hairpin), plain clients fail as
/// before, and secure clients connect over their LAN addresses and say so.
/// </summary>
internal static class SameNatScenarios
{
    /// <summary>A test's bound for one secure pair to authenticate over the LAN, on a loaded machine (the measured median is in docs/NAT.md).</summary>
    public static readonly TimeSpan LanBound = TimeSpan.FromSeconds(5);

    /// <summary>Client A sends a SYN to the port client B's mapping has on the shared NAT: no hairpin.</summary>
    public static async Task<ConnectOutcome> HairpinAttemptAsync(Lab lab)
    {
        using var holdA = LabSockets.Bound(lab.ClientA, AddressFamily.InterNetwork);
        using var holdB = LabSockets.Bound(lab.ClientB, AddressFamily.InterNetwork);
        var (peerOfA, _) = await LabSockets.PairAsync(lab.ClientA, holdA.Port(), lab.ClientB, holdB.Port(), AddressFamily.InterNetwork);
        Assert.Equal(Lab.SharedPublicV4, peerOfA.Address);
        using var attempt = LabSockets.Bound(lab.ClientA, AddressFamily.InterNetwork);
        return await LabSockets.ConnectAsync(attempt, peerOfA, LabChecks.SilenceWait);
    }

    /// <summary>Secure pairs in a row, each over the LAN within <see cref="LanBound"/>.</summary>
    public static async Task SecureOverTheLanAsync(Lab lab, AddressFamily family, int count)
    {
        for (int i = 1; i <= count; i++)
        {
            var result = await SecureTrial.ConnectAsync(lab, LabFixture.RequirePunchhole(), family, ExpectedPath.Lan);
            Assert.True(result.Ok, $"pair {i} of {count}: {result.Detail}");
            Assert.True(result.Elapsed < LanBound, $"pair {i} of {count} took {result.Seconds} s: {result.Detail}");
        }
    }

    /// <summary>Plain clients speak only version 1, so they never try each other's LAN addresses: the punch fails with the diagnosis.</summary>
    public static async Task PlainClientsFailAsync(Lab lab)
    {
        using var pair = PunchPair.Start(lab, LabFixture.RequirePunchhole(), AddressFamily.InterNetwork, ["--punch-timeout", "2"], ["--punch-timeout", "2"]);
        var (codeA, codeB, _) = await pair.WaitExitAsync(TimeSpan.FromSeconds(20));
        Assert.True(codeA == 1 && codeB == 1, pair.Describe());
        foreach (var client in new[] { pair.A, pair.B })
        {
            Assert.Contains(client.StderrLines, l => l.Text.Contains("a direct TCP connection", StringComparison.Ordinal));
            Assert.DoesNotContain(client.StderrLines, l => l.Text.Contains("local address", StringComparison.Ordinal) || PunchPair.IsConnected(l.Text));
        }
    }
}

/// <summary>Both clients on one LAN behind one NAT that does not hairpin: what both policies share.</summary>
/// <param name="fixture">the lab</param>
/// <param name="hairpinResets">the NAT answers the hairpin SYN with a reset (else it drops it)</param>
public abstract class SameNatTests<TLab>(TLab fixture, bool hairpinResets) : IClassFixture<TLab>
    where TLab : LabFixture
{
    protected Lab Lab => fixture.Lab;

    [SkippableFact(Timeout = 60_000)]
    public async Task Tstun_tells_each_client_the_shared_NATs_address_and_a_SYN_to_it_from_the_LAN_does_not_hairpin()
    {
        var expected = hairpinResets ? ConnectOutcome.Refused : ConnectOutcome.TimedOut;
        Assert.Equal(expected, await SameNatScenarios.HairpinAttemptAsync(Lab));
    }

    [SkippableFact(Timeout = 90_000)]
    public Task Secure_clients_connect_directly_over_the_LAN_and_say_so() =>
        SameNatScenarios.SecureOverTheLanAsync(Lab, AddressFamily.InterNetwork, 3);
}

/// <summary>The shared NAT drops what it cannot map; the hairpin SYN is dropped.</summary>
[Collection(NatLabCollection.Name)]
public class SameNatDropTests(SameNatDropLab fixture) : SameNatTests<SameNatDropLab>(fixture, hairpinResets: false)
{
    [SkippableFact(Timeout = 60_000)]
    public Task Over_IPv6_the_peers_global_addresses_are_on_the_LAN_and_the_public_punch_takes_it() =>
        SameNatScenarios.SecureOverTheLanAsync(Lab, AddressFamily.InterNetworkV6, 2);

    [SkippableFact(Timeout = 60_000)]
    public Task Plain_clients_do_not_use_candidates_and_fail_with_the_diagnosis() => SameNatScenarios.PlainClientsFailAsync(Lab);
}

/// <summary>The shared NAT resets what it cannot map; the hairpin SYN is reset.</summary>
[Collection(NatLabCollection.Name)]
public class SameNatResetTests(SameNatResetLab fixture) : SameNatTests<SameNatResetLab>(fixture, hairpinResets: true);

/// <summary>
/// Two home NATs behind one carrier NAT (no hairpin, subscribers isolated), tstun outside with its
/// relay on: secure clients connect, here through the relay, and say so.
/// </summary>
[Collection(NatLabCollection.Name)]
public class CarrierNatTests(CarrierNatRelayLab fixture) : IClassFixture<CarrierNatRelayLab>
{
    [SkippableFact(Timeout = 60_000)]
    public async Task Tstun_sees_both_clients_at_the_carrier_NATs_address()
    {
        var lab = fixture.Lab;
        using var holdA = LabSockets.Bound(lab.ClientA, AddressFamily.InterNetwork);
        using var holdB = LabSockets.Bound(lab.ClientB, AddressFamily.InterNetwork);
        var (peerOfA, peerOfB) = await LabSockets.PairAsync(lab.ClientA, holdA.Port(), lab.ClientB, holdB.Port(), AddressFamily.InterNetwork);
        Assert.Equal(Lab.SharedPublicV4, peerOfA.Address);
        Assert.Equal(Lab.SharedPublicV4, peerOfB.Address);
        // The two homes cannot reach each other inside the carrier: subscriber ports are isolated.
        // (Without the isolation router-b's own kernel would answer with a reset.)
        using var probe = LabSockets.Bound(lab.RouterA, AddressFamily.InterNetwork);
        try
        {
            Assert.Equal(ConnectOutcome.TimedOut, await LabSockets.ConnectAsync(probe, new IPEndPoint(lab.RouterB!.V4!, 22), LabChecks.SilenceWait));
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.HostUnreachable)
        {
            // No answer to ARP: unreachable, as it should be.
        }
    }

    [SkippableFact(Timeout = 120_000)]
    public async Task Secure_clients_connect_and_the_path_line_says_they_are_relayed()
    {
        for (int i = 1; i <= 2; i++)
        {
            var result = await SecureTrial.ConnectAsync(fixture.Lab, LabFixture.RequirePunchhole(), AddressFamily.InterNetwork, ExpectedPath.Relayed);
            Assert.True(result.Ok, $"pair {i}: {result.Detail}");
            Assert.True(result.Elapsed < TimeSpan.FromSeconds(15), $"pair {i} took {result.Seconds} s: {result.Detail}");
            Assert.DoesNotContain("connected directly", result.Detail, StringComparison.Ordinal);
        }
    }
}

/// <summary>docs/NAT.md shows the shared NATs' own rules.</summary>
public class SharedNatDocTests
{
    [Theory]
    [InlineData(LabVariant.SameNatDrop)]
    [InlineData(LabVariant.SameNatReset)]
    [InlineData(LabVariant.CarrierNat)]
    public void The_shared_NATs_rules_appear_in_docs_NAT_md(LabVariant variant)
    {
        string doc = File.ReadAllText(Path.Combine(Punchhole.Tests.Support.RepositoryPaths.Root, "docs", "NAT.md"));
        foreach (string rule in Lab.SharedNatIpv4Rules(variant).Split('\n'))
        {
            if (rule.StartsWith("-A ", StringComparison.Ordinal))
            {
                Assert.True(doc.Contains(rule, StringComparison.Ordinal), $"docs/NAT.md lacks the {variant.Name()} rule: {rule}");
            }
        }
    }
}
