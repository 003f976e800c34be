using System.Net.Sockets;
using System.Runtime.InteropServices;
using Punchhole.Protocol;
using Punchhole.Protocol.CommandLine;
using Punchhole.Server;

// First: a closed stdout or stderr must not lend its number to a socket.
StandardStreams.Reserve();
var stderr = StandardStreams.Error;
// An exception no code expected, on any thread, ends the process with one line and exit code 1,
// never with the runtime's stack trace.
AppDomain.CurrentDomain.UnhandledException += (_, e) => Environment.Exit(Fail(e.ExceptionObject as Exception));
try
{
    return Run(args);
}
#pragma warning disable CA1031 // The last line of defence: every exception becomes one line and exit code 1.
catch (Exception e)
#pragma warning restore CA1031
{
    return Fail(e);
}

int Run(string[] args)
{
    var parsed = ServerCommandLine.Parse(args);
    switch (parsed.Action)
    {
        case CommandLineAction.Help or CommandLineAction.Version:
            var answer = new StringWriter();
            int code = parsed.Respond("tstun", ServerCommandLine.Usage, answer, stderr) ?? 0;
            if (StandardStreams.TryWriteOutput(answer.ToString()) is string why)
            {
                stderr.WriteLine($"tstun: cannot write to standard output: {why}");
                return 1;
            }
            return code;
        case CommandLineAction.Error:
            return parsed.Respond("tstun", ServerCommandLine.Usage, TextWriter.Null, stderr) ?? 2;
    }

    var options = parsed.Options!;

    // Before any socket exists: .NET reads the engine settings once.
    SocketEngine.UseInlineCompletions(options.IoThreads);
    var log = new ServerLog(stderr, options.Verbose);
    long openFiles = OpenFileLimit.RaiseToHardLimit();
    if (openFiles >= 0 && openFiles < ServerOptions.MinimumOpenFiles)
    {
        stderr.WriteLine($"tstun: the open-file limit is {openFiles}; tstun needs at least {ServerOptions.MinimumOpenFiles} "
            + "(raise it with ulimit -n, or LimitNOFILE= in the service unit)");
        return 1;
    }
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
    catch (ServerStartException e)
    {
        log.Info(e.Message);
        return 1;
    }

    stop.Wait();
    server.Stop();
    log.Info($"stopped; {server.Summary()}");
    return 0;
}

// One line on stderr (if it can still be written) and exit code 1.
int Fail(Exception? e)
{
    // The innermost exception says what went wrong (a type initializer's wrapper does not).
    var cause = e?.GetBaseException();
    string what = cause switch
    {
        SocketException or IOException => cause.Message,
        null => "unknown error",
        _ => $"{cause.Message} ({cause.GetType().Name})",
    };
    try
    {
        // For the project's own tests and debugging only: where it came from.
        if (Environment.GetEnvironmentVariable("PUNCHHOLE_DEBUG_EXCEPTIONS") == "1")
        {
            stderr.WriteLine(Describe(e));
        }
        stderr.WriteLine($"tstun: stopped by an unexpected error: {what.ReplaceLineEndings(" ")}");
    }
    catch (IOException)
    {
        // Stderr is gone too: the exit code is all that is left.
    }
    return 1;
}

// The whole exception, or why it could not be had (a stack trace may need files the process has no descriptor for).
static string Describe(Exception? e)
{
    try
    {
        var thread = Thread.CurrentThread;
        return $"tstun: debug: on thread {thread.ManagedThreadId} '{thread.Name}' (pool: {thread.IsThreadPoolThread}): {e}";
    }
#pragma warning disable CA1031 // A debugging aid must not replace the error it reports.
    catch (Exception inner)
#pragma warning restore CA1031
    {
        return $"tstun: debug: {e?.GetType().FullName}: {e?.Message} (no stack trace: {inner.GetType().Name}: {inner.Message})";
    }
}
