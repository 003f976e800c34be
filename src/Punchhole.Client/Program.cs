using System.Text;
using Punchhole.Client;
using Punchhole.Client.Platform;
using Punchhole.Client.Relay;

// Hidden: proves libsodium is linked in and works where the binary runs (an empty root included).
if (args is ["--self-test-crypto"])
{
    return CryptoCheck.Run(Console.Out, Console.Error);
}

// Before anything opens a socket: a closed stdin, stdout or stderr must not lend its number to one.
var descriptors = StandardDescriptors.CheckAndPlug();
var stdout = StandardStreams.OpenOutput();
var stderr = StandardStreams.OpenError();
var parsed = ClientCommandLine.Parse(args);
var helpWriter = new StreamWriter(stdout, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false), bufferSize: 4096, leaveOpen: true);
var usageError = new StringWriter();
try
{
    if (parsed.Respond("punchhole", ClientCommandLine.Usage, helpWriter, usageError) is int exitCode)
    {
        helpWriter.Flush();
        new ClientLog(stderr, verbose: false).Raw(usageError.ToString());
        return exitCode;
    }
}
catch (Exception e) when (e is IOException or UnauthorizedAccessException)
{
    new ClientLog(stderr, verbose: false).Info($"cannot write to stdout: {(descriptors.OutputClosed ? "it is closed" : ErrorText.Of(e))}");
    return 1;
}

var options = parsed.Options!;
if (!options.Plain)
{
    // The secure session's reader and writer loops go on from a socket's completion where the
    // engine saw it, instead of after a hop to the thread pool: none of them blocks, and on 1 GiB
    // over loopback the hops cost about 10% of the time. Plain mode gained nothing from it (measured).
    Punchhole.Protocol.SocketEngine.UseInlineCompletions(Environment.ProcessorCount);
}
// Reading stdin (and -r's look at it) blocks a pool thread for as long as the user is silent; on
// a 2-core host that is half the pool's minimum, so under load everything else would queue behind
// the pool's slow thread injection.
ThreadPool.GetMinThreads(out int workers, out int completionPorts);
ThreadPool.SetMinThreads(Math.Max(workers, 8), completionPorts);
var log = new ClientLog(stderr, options.Verbose, live: Terminal.IsError && !options.Quiet);
// A bug must still end in one line and exit 1, never a stack trace.
AppDomain.CurrentDomain.UnhandledException += (_, e) =>
{
    log.Info($"internal error: {ErrorText.OneLine((e.ExceptionObject as Exception)?.Message ?? "unknown")}");
    Environment.Exit(1);
};
using var interruption = new Interruption(log);
var stdin = StandardStreams.OpenInput();
var io = new StandardIo(stdin, stdout, Terminal.IsInput, descriptors.InputClosed, descriptors.OutputClosed, Terminal.InputReady, StandardStreams.InputLength(stdin));
try
{
    return await new PunchholeSession(options, log, io).RunAsync();
}
catch (ClientFailure e)
{
    log.Info(e.Message);
    return 1;
}
catch (Exception e)
{
    log.Info($"internal error: {ErrorText.OneLine(e.Message)}");
    return 1;
}
