using System.Globalization;
using Punchhole.Load;
using Punchhole.Load.Scenarios;
using Punchhole.Protocol;

var parsed = LoadCommandLine.Parse(args);
if (parsed.Respond("punchhole-load", LoadCommandLine.Usage, Console.Out, Console.Error) is int exitCode)
{
    return exitCode;
}
var options = parsed.Options!;

// Before any socket exists. Inline completions cost the machine less CPU, which on a small
// machine is CPU the server under test keeps. One engine thread, like pairload's single epoll loop: on a small machine a second one mostly
// contends for the cores the server needs (measured here: fewer pairs/s and more client CPU).
SocketEngine.UseInlineCompletions(threads: 1);

long openFiles = OpenFileLimit.RaiseToHardLimit();
if (openFiles > 0 && options.DescriptorsNeeded > openFiles)
{
    Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"punchhole-load: this run needs {options.DescriptorsNeeded} open files and the limit is {openFiles}")
        + (options.Scenario == Scenario.Hold ? ": split it with --processes" : ": lower the concurrency"));
    return 2;
}

ServerProbe? probe = null;
LoadTarget target;
try
{
    probe = options.ServerPid is int pid ? ServerProbe.For(pid) : null;
    target = LoadTarget.Create(options.Target, options.Port, options.Sources);
    if (options.PartnerPort > 0)
    {
        target = target.WithPartnerPort(options.PartnerPort);
    }
}
catch (ArgumentException e)
{
    Console.Error.WriteLine($"punchhole-load: {e.Message}");
    return 2;
}

using var run = new LoadRun(options, target, probe, Console.Error);
if (options.HoldChild)
{
    await HoldScenario.RunAsChildAsync(run);
    return 0;
}

await Warmup.RunAsync(run, options.WarmupPairings);
var report = options.Scenario switch
{
    Scenario.Constant => await ConstantScenario.RunAsync(run),
    Scenario.Hold => await HoldScenario.RunAsync(run),
    Scenario.Ramp => await RampScenario.RunAsync(run),
    _ => await ChurnScenario.RunAsync(run),
};

ReportWriter.WriteText(Console.Out, report);
if (options.OutFile is { } path)
{
    ReportWriter.Append(path, report);
}
// A wrong answer always fails the run. Otherwise a ramp is meant to find where errors begin;
// every other scenario fails on any error.
bool failed = report.ViolationCount > 0 || (options.Scenario != Scenario.Ramp && report.Tally.Errors > 0);
return failed ? 1 : 0;
