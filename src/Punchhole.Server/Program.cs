using System.Net.Sockets;
using System.Runtime.InteropServices;
using Punchhole.Protocol;
using Punchhole.Server;

var parsed = ServerCommandLine.Parse(args);
if (parsed.Respond("tstun", ServerCommandLine.Usage, Console.Out, Console.Error) is int exitCode)
{
    return exitCode;
}

var options = parsed.Options!;

// .NET reads these once, when the first socket starts its engine, so they must be set before.
// Completions run inline on the engine's epoll threads instead of hopping to the thread pool:
// every handler here is short and never blocks, so the hop would be pure cost.
SetDefault("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS", "1");
SetDefault("DOTNET_SYSTEM_NET_SOCKETS_THREAD_COUNT", options.IoThreads.ToString(System.Globalization.CultureInfo.InvariantCulture));
var log = new ServerLog(Console.Error, options.Verbose);
long openFiles = OpenFileLimit.RaiseToHardLimit();
using var server = new RendezvousServer(options, log, openFiles);
using var stop = new ManualResetEventSlim();
void OnStop(PosixSignalContext context)
{
    context.Cancel = true;
    log.Info($"{context.Signal} received: stopping");
    stop.Set();
}
using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnStop);
using var onInt = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnStop);
// SIGUSR1 (10 on Linux) has no PosixSignal name; raw numbers are allowed.
// Cancel the default action, which for SIGUSR1 is to terminate.
using var onUsr1 = PosixSignalRegistration.Create((PosixSignal)10, context =>
{
    context.Cancel = true;
    log.Info(server.Summary());
});

// Handlers first: a signal that arrives once "listening" is logged must find them in place.
try
{
    server.Start();
}
catch (SocketException e)
{
    log.Info($"cannot listen on {(options.Bind?.ToString() ?? "[::]")}:{options.Port}: {e.Message}");
    return 1;
}

stop.Wait();
server.Stop();
log.Info($"stopped; {server.Summary()}");
return 0;

static void SetDefault(string variable, string value)
{
    if (Environment.GetEnvironmentVariable(variable) is null)
    {
        Environment.SetEnvironmentVariable(variable, value);
    }
}
