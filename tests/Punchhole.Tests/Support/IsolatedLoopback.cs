using Punchhole.NatLab;

namespace Punchhole.Tests.Support;

/// <summary>
/// A network namespace with nothing but its loopback, for a test that needs kernel settings of
/// its own (sysctls are per namespace); programs run in it through `ip netns exec`. Root only.
/// </summary>
internal sealed class IsolatedLoopback : IDisposable
{
    public IsolatedLoopback(params (string Key, string Value)[] sysctls)
    {
        Name = LoopbackNamespace.NewName();
        Command.Run("ip", ["netns", "add", Name]);
        try
        {
            Command.Run("ip", ["-n", Name, "link", "set", "lo", "up"]);
            NetNs.SetSysctls(Name, sysctls.Select(s => (s.Key, s.Value, false)));
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public string Name { get; }

    /// <summary>The arguments of `ip` that run <paramref name="program"/> in this namespace.</summary>
    public string[] Exec(string program, params string[] args) => ["netns", "exec", Name, program, .. args];

    public void Dispose() => Command.TryRun("ip", ["netns", "delete", Name], out _);
}
