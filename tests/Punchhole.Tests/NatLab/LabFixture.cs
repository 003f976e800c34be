using Punchhole.NatLab;
using Punchhole.Tests.Support;

namespace Punchhole.Tests.NatLab;

/// <summary>
/// The NAT lab tests run one class at a time (each class builds its own lab; names never collide,
/// but two labs pushing 64 MiB through at once would only fight over the two cores).
/// </summary>
[CollectionDefinition(Name)]
public sealed class NatLabCollection
{
    public const string Name = "NAT lab";
}

/// <summary>
/// One lab per test class, built on first use and torn down after the class, pass or fail.
/// Without root (or the tools, or the published tstun) the tests are skipped with the reason;
/// under CI they fail instead.
/// </summary>
public abstract class LabFixture(LabVariant variant, params string[] tstunOptions) : IDisposable
{
    private readonly Lock _gate = new();
    private Lab? _lab;
    private Exception? _failure;

    public LabVariant Variant { get; } = variant;

    /// <summary>The lab (built on the first call); skips the calling test when the lab cannot run here.</summary>
    public Lab Lab
    {
        get
        {
            string tstun = RequireLab();
            lock (_gate)
            {
                if (_lab is null && _failure is null)
                {
                    try
                    {
                        _lab = Lab.Create(Variant, tstun, tstunOptions);
                    }
                    catch (LabException e)
                    {
                        _failure = e;
                    }
                }
                if (_failure is not null)
                {
                    throw new InvalidOperationException($"the {Variant.Name()} lab could not be built", _failure);
                }
                return _lab!;
            }
        }
    }

    /// <summary>Root, the tools and the published tstun; returns tstun's path.</summary>
    public static string RequireLab()
    {
        RepositoryPaths.RequireRoot("the NAT lab (network namespaces, iptables)");
        foreach (string tool in new[] { "ip", "iptables-restore", "ip6tables-restore", "conntrack" })
        {
            if (!Command.Exists(tool))
            {
                string why = $"the NAT lab needs {tool} (apt-get install iproute2 iptables conntrack)";
                Assert.False(RepositoryPaths.InCi, why);
                Skip.If(true, why);
            }
        }
        return RepositoryPaths.RequireArtifact("tstun/tstun");
    }

    /// <summary>The published punchhole client (skips, or under CI fails, when it is missing).</summary>
    public static string RequirePunchhole() => RepositoryPaths.RequireArtifact("punchhole/punchhole");

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing)
    {
        if (disposing)
        {
            lock (_gate)
            {
                _lab?.Dispose();
            }
        }
    }
}

public sealed class DropLab() : LabFixture(LabVariant.Drop);

public sealed class ResetLab() : LabFixture(LabVariant.Reset);

public sealed class RandomPortLab() : LabFixture(LabVariant.RandomPort);

/// <summary>Symmetric NATs, and tstun with its relay on (--relay).</summary>
public sealed class RandomPortRelayLab() : LabFixture(LabVariant.RandomPort, "--relay");

public sealed class PublicPeerLab() : LabFixture(LabVariant.PublicPeer);
