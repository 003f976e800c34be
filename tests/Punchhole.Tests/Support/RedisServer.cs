using System.Diagnostics;
using System.Net;

namespace Punchhole.Tests.Support;

/// <summary>
/// A real redis-server on a free loopback port (of this machine, or of a test's network namespace),
/// without persistence, for the tests of tstun --redis.
/// It can be stopped and started again on the same port (empty, as a restarted Redis without
/// persistence is).
/// </summary>
internal sealed class RedisServer : IDisposable
{
    private readonly string _executable;
    private readonly LoopbackNamespace? _inside;
    private ChildProcess? _process;

    private RedisServer(string executable, int port, LoopbackNamespace? inside)
    {
        _executable = executable;
        _inside = inside;
        Port = port;
    }

    public int Port { get; }

    /// <summary>The configuration string tstun takes with --redis.</summary>
    public string Configuration => $"127.0.0.1:{Port}";

    /// <summary>Starts redis-server (skips, or fails under CI, when it is not installed).</summary>
    public static async Task<RedisServer> StartAsync(LoopbackNamespace? inside = null)
    {
        string executable = RepositoryPaths.RequireCommand("redis-server", "redis-server");
        var redis = new RedisServer(executable, LocalPorts.Free(), inside);
        await redis.StartAgainAsync();
        return redis;
    }

    /// <summary>Starts it (again) on its port; returns once it accepts connections.</summary>
    public async Task StartAgainAsync()
    {
        string[] args = ["--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1",
            "--save", "", "--appendonly", "no", "--protected-mode", "no", "--loglevel", "warning", "--logfile", ""];
        var info = _inside is null ? new ProcessStartInfo(_executable) : new ProcessStartInfo("ip");
        foreach (string arg in _inside is null ? args : _inside.Wrap(_executable, args))
        {
            info.ArgumentList.Add(arg);
        }
        _process = ChildProcess.Start(info);
        var endPoint = new IPEndPoint(IPAddress.Loopback, Port);
        var wait = TimeSpan.FromSeconds(10);
        Assert.True(await (_inside is null ? LocalPorts.AcceptsAsync(endPoint, wait) : _inside.AcceptsAsync(endPoint, wait)),
            $"redis-server does not accept connections on port {Port}");
    }

    /// <summary>Kills it (SIGKILL: its clients see their connections reset or closed).</summary>
    public async Task StopAsync()
    {
        var process = _process;
        _process = null;
        if (process is null)
        {
            return;
        }
        process.Signal(9);
        Assert.NotNull(await process.WaitForExitAsync(TimeSpan.FromSeconds(10)));
        process.Dispose();
    }

    public void Dispose() => _process?.Dispose();
}
