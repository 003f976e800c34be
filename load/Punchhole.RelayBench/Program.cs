using System.Net.Sockets;
using Punchhole.Protocol;
using Punchhole.RelayBench;

var parsed = RelayBenchCommandLine.Parse(args);
if (parsed.Respond("punchhole-relaybench", RelayBenchCommandLine.Usage, Console.Out, Console.Error) is int exitCode)
{
    return exitCode;
}
var options = parsed.Options!;
OpenFileLimit.RaiseToHardLimit();
try
{
    return options.Mode == BenchMode.Throughput
        ? await ThroughputRun.RunAsync(options, Console.Out)
        : await IdleRun.RunAsync(options, Console.Out);
}
catch (BenchException e)
{
    Console.Error.WriteLine($"punchhole-relaybench: {e.Message}");
    return 1;
}
catch (SocketException e)
{
    Console.Error.WriteLine($"punchhole-relaybench: {ErrorText(e.SocketErrorCode)}");
    return 1;
}
catch (OperationCanceledException)
{
    Console.Error.WriteLine("punchhole-relaybench: the server took too long to answer");
    return 1;
}
catch (IOException e) when (e.InnerException is SocketException inner)
{
    Console.Error.WriteLine($"punchhole-relaybench: {ErrorText(inner.SocketErrorCode)}");
    return 1;
}

static string ErrorText(SocketError error) => error switch
{
    SocketError.ConnectionRefused => "connection refused: is tstun --relay listening on that port?",
    SocketError.ConnectionReset => "the server reset a connection (a relay cap?)",
    _ => $"socket error {error}",
};
