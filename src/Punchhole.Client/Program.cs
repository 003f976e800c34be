using System.Net.Sockets;
using System.Reflection;
using Punchhole.Client;
using Punchhole.Protocol.CommandLine;

var parsed = ClientCommandLine.Parse(args);
switch (parsed.Action)
{
    case CommandLineAction.Help:
        Console.Out.Write(ClientCommandLine.Usage);
        return 0;
    case CommandLineAction.Version:
        Console.Out.WriteLine($"punchhole {typeof(ClientOptions).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "?"}");
        return 0;
    case CommandLineAction.Error:
        Console.Error.WriteLine($"punchhole: {parsed.Error} (try -h)");
        return 2;
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
catch (Exception e) when (e is IOException or SocketException)
{
    log.Info($"the connection to the peer failed: {(e.InnerException as SocketException)?.Message ?? e.Message}");
    return 1;
}
