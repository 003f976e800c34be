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

// Before any socket exists: .NET reads the engine settings once.
SocketEngine.UseInlineCompletions(options.IoThreads);
var log = new ServerLog(Console.Error, options.Verbose);
long openFiles = OpenFileLimit.RaiseToHardLimit();
using var server = new RendezvousServer(options, log, openFiles, OpenFileLimit.CountOpen());
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
