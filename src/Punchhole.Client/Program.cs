using System.Net.Sockets;
using Punchhole.Client;

// Hidden: proves libsodium is linked in and works where the binary runs (an empty root included).
if (args is ["--self-test-crypto"])
{
    return CryptoCheck.Run(Console.Out, Console.Error);
}

var parsed = ClientCommandLine.Parse(args);
if (parsed.Respond("punchhole", ClientCommandLine.Usage, Console.Out, Console.Error) is int exitCode)
{
    return exitCode;
}

var options = parsed.Options!;
var log = new ClientLog(Console.Error, options.Verbose);
using var input = Console.OpenStandardInput();
using var output = Console.OpenStandardOutput();
try
{
    await new PunchholeSession(options, log, input, output).RunAsync();
    return 0;
}
catch (ClientFailure e)
{
    log.Info(e.Message);
    return 1;
}
catch (IOException e)
{
    // Relay errors name the end that failed: the peer, stdin, stdout or a forwarded connection.
    log.Info($"relay failed: {e.Message}");
    return 1;
}
catch (SocketException e)
{
    log.Info($"the connection failed: {e.Message}");
    return 1;
}
