using System.Diagnostics;
using Punchhole.Server;
using Punchhole.Tests.Support;

namespace Punchhole.Tests.Client;

/// <summary>
/// Secure clients whose direct connection is impossible (iptables drops everything between their
/// two addresses, in a private network namespace) continue through tstun --relay and say so; with
/// --no-relay, or a server without the relay, they fail with the punch's diagnosis instead.
/// </summary>
public class RelayFallbackTests
{
    private const string Code = "482913-aban-abel-abir";
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(40);

    /// <summary>A namespace with tstun in it, where 127.0.0.2 and 127.0.0.3 cannot reach each other.</summary>
    private sealed class NoDirectPath : IDisposable
    {
        private readonly LoopbackNamespace _ns = LoopbackNamespace.Create();

        public NoDirectPath(bool relay)
        {
            try
            {
                Host = _ns.Run(() => new ServerHost(new ServerOptions { Relay = new RelayOptions { Enabled = relay } }));
                _ns.Iptables("-A", "INPUT", "-s", "127.0.0.2", "-d", "127.0.0.3", "-j", "DROP");
                _ns.Iptables("-A", "INPUT", "-s", "127.0.0.3", "-d", "127.0.0.2", "-j", "DROP");
            }
            catch
            {
                Dispose();
                throw;
            }
        }

        public ServerHost Host { get; } = null!;

        /// <summary>A secure client bound to 127.0.0.<paramref name="host"/>, punching for 2 s.</summary>
        public ChildProcess Client(int host, params string[] args) => ChildProcess.Start("ip", [
            "netns", "exec", _ns.Name, ClientProgram.Executable,
            .. ClientProgram.Server(Host.EndPoint().Port), "-H", $"127.0.0.{host}", "--punch-timeout", "2", .. args, Code]);

        public void Dispose()
        {
            Host?.Dispose();
            _ns.Dispose();
        }
    }

    [SkippableFact(Timeout = 90_000)]
    public async Task Without_a_direct_path_two_secure_clients_chat_through_the_relay_and_say_so()
    {
        using var lab = new NoDirectPath(relay: true);
        var clock = Stopwatch.StartNew();
        using var a = lab.Client(2);
        using var b = lab.Client(3);
        Assert.NotNull(await a.WaitForLineAsync("the peer knows the code", Wait));
        Assert.NotNull(await b.WaitForLineAsync("the peer knows the code", Wait));
        var elapsed = clock.Elapsed;

        await a.Input.WriteAsync("from a\n"u8.ToArray());
        await a.Input.FlushAsync();
        a.Input.Close();
        await b.Input.WriteAsync("from b\n"u8.ToArray());
        await b.Input.FlushAsync();
        b.Input.Close();
        Assert.Equal(0, await a.WaitForExitAsync(Wait));
        Assert.Equal(0, await b.WaitForExitAsync(Wait));
        foreach (var (client, heard) in new[] { (a, "from b\n"), (b, "from a\n") })
        {
            Assert.Equal(heard, await new StreamReader(client.Output).ReadToEndAsync());
            Assert.Contains(client.Lines, l => l.Contains($"relayed through tstun (no direct path): via {lab.Host.EndPoint()}", StringComparison.Ordinal));
            Assert.DoesNotContain(client.Lines, l => l.Contains("connected directly", StringComparison.Ordinal));
            ClientProgram.AssertReadable(client);
        }
        Assert.True(elapsed < TimeSpan.FromSeconds(15), $"took {elapsed} to authenticate through the relay");
        Assert.Equal(1, lab.Host.Counters.RelayOffered);
    }

    [SkippableTheory(Timeout = 90_000)]
    [InlineData(true, "--no-relay")]
    [InlineData(false)]
    public async Task With_no_relay_allowed_or_offered_both_fail_with_the_punchs_diagnosis(bool relay, params string[] args)
    {
        using var lab = new NoDirectPath(relay);
        using var a = lab.Client(2, args);
        using var b = lab.Client(3, args);
        Assert.Equal(1, await a.WaitForExitAsync(Wait));
        Assert.Equal(1, await b.WaitForExitAsync(Wait));
        foreach (var client in new[] { a, b })
        {
            Assert.Contains(client.Lines, l => l.Contains("no SYN from the peer arrived", StringComparison.Ordinal));
            Assert.DoesNotContain(client.Lines, l => l.Contains("relay", StringComparison.Ordinal));
            ClientProgram.AssertReadable(client);
        }
        Assert.Equal(0, lab.Host.Counters.RelayOffered);
    }
}
