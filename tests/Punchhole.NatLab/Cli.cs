using System.Globalization;
using System.Runtime.InteropServices;

namespace Punchhole.NatLab;

internal static class Cli
{
    private const string Usage =
        """
        usage: natlab trials [N] [--variant NAME]... [--markdown FILE] [--verbose] [--tstun PATH] [--punchhole PATH] [--delay MS]
               natlab up VARIANT [--tstun PATH] [--delay MS]
               natlab clean
               natlab rules VARIANT
               natlab delay --dev NAME --ms DELAY [--queue PACKETS] [--seconds LIFETIME]   (run by the lab in an ISP namespace; stops when its stdin closes)
        --delay MS: a delay line at isp-a, MS milliseconds each way between site A and the rest of the lab
        variants: drop, v6, rst, rst-v6, random-port, public-peer, mixed, mixed-v6, same-nat-drop, same-nat-rst,
                  same-nat-v6, carrier-nat (trials);
                  drop, rst, random-port, public-peer, mixed, same-nat-drop, same-nat-rst, carrier-nat (up)
        """;

    public static async Task<int> RunAsync(string[] args)
    {
        try
        {
            if (args.Length == 0 || args[0] is "-h" or "--help")
            {
                Console.Error.WriteLine(Usage);
                return args.Length == 0 ? 2 : 0;
            }
            if (args[0] == "rules")
            {
                var variant = LabVariants.Parse(args.Length == 2 ? args[1] : throw new ArgumentException("rules needs one variant"));
                Console.Write(variant.IsSharedNat()
                    ? Lab.SharedNatRulesText(variant)
                    : $"# router iptables-restore input ({variant.Name()})\n{Lab.Ipv4Rules(variant)}# router ip6tables-restore input ({variant.Name()})\n{Lab.Ipv6Rules(variant)}");
                return 0;
            }
            if (args[0] == "delay")
            {
                return PacketDelay.Run(args[1..]);
            }
            if (Environment.UserName != "root")
            {
                Console.Error.WriteLine("natlab: the lab builds network namespaces and needs root");
                return 1;
            }
            var options = Options.Parse(args[1..]);
            // Ctrl-C or kill: tear the labs down before the process ends (one left behind would be removed at the next start).
            using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Interrupted);
            using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Interrupted);
            switch (args[0])
            {
                case "clean":
                    foreach (string ns in Lab.CleanStale())
                    {
                        Console.WriteLine($"removed {ns}");
                    }
                    return 0;
                case "up":
                    return Up(options);
                case "trials":
                    return await Trials.RunAsync(options);
                default:
                    throw new ArgumentException($"unknown command '{args[0]}'");
            }
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine($"natlab: {e.Message}\n{Usage}");
            return 2;
        }
        catch (LabException e)
        {
            Console.Error.WriteLine($"natlab: {e.Message}");
            return 1;
        }
        catch (ObjectDisposedException)
        {
            Console.Error.WriteLine("natlab: interrupted");
            return 130;
        }
        finally
        {
            // Also waits for a teardown that a signal started.
            Lab.DisposeAll();
        }
    }

    private static void Interrupted(PosixSignalContext context)
    {
        context.Cancel = true;
        Lab.DisposeAll();
        Environment.Exit(128 + (context.Signal == PosixSignal.SIGINT ? 2 : 15));
    }

    private static int Up(Options options)
    {
        if (options.Positional.Count != 1)
        {
            throw new ArgumentException("up needs one variant");
        }
        using var lab = Lab.Create(LabVariants.Parse(options.Positional[0]), options.TStun);
        options.AddDelayLine(lab);
        Console.WriteLine($"lab {lab.Id} ({lab.Variant.Name()}); tstun on {Lab.ServerV4} and [{Lab.ServerV6}] port {Lab.TStunPort}");
        foreach (var host in lab.Hosts)
        {
            Console.WriteLine($"  {host.Role,-9} ip netns exec {host.Namespace} ...   {host.V4} {host.V6}");
        }
        Console.WriteLine("press Enter to tear it down");
        Console.ReadLine();
        return 0;
    }
}

/// <summary>The command line after the command word.</summary>
internal sealed class Options
{
    public List<string> Positional { get; } = [];

    public List<string> Variants { get; } = [];

    public string? Markdown { get; private set; }

    /// <summary>Print both clients' stderr for every trial, not only for failed ones.</summary>
    public bool Verbose { get; private set; }

    public string TStun { get; private set; } = Path.Combine(Repository.Artifacts, "tstun", "tstun");

    public string Punchhole { get; private set; } = Path.Combine(Repository.Artifacts, "punchhole", "punchhole");

    /// <summary>The one-way delay of a delay line at isp-a (--delay MS), if any.</summary>
    public TimeSpan? Delay { get; private set; }

    public static Options Parse(string[] args)
    {
        var options = new Options();
        for (int i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--verbose":
                    options.Verbose = true;
                    break;
                case "--variant":
                    options.Variants.Add(Value());
                    break;
                case "--markdown":
                    options.Markdown = Value();
                    break;
                case "--tstun":
                    options.TStun = Value();
                    break;
                case "--punchhole":
                    options.Punchhole = Value();
                    break;
                case "--delay":
                    options.Delay = double.TryParse(Value(), NumberStyles.Float, CultureInfo.InvariantCulture, out double ms) && ms >= 0 && ms <= 10_000
                        ? TimeSpan.FromMilliseconds(ms)
                        : throw new ArgumentException($"--delay takes milliseconds from 0 to 10000, not '{args[i]}'");
                    break;
                case var a when a.StartsWith('-'):
                    throw new ArgumentException($"unknown option {a}");
                default:
                    options.Positional.Add(args[i]);
                    break;
            }
        }
        if (options.Delay is not null && options.Markdown is not null)
        {
            throw new ArgumentException("--markdown writes the reference table, which is measured without --delay");
        }
        return options;
    }

    /// <summary>Puts the --delay line on <paramref name="lab"/>'s isp-a, when one was asked for.</summary>
    public void AddDelayLine(Lab lab)
    {
        if (Delay is { } delay)
        {
            var line = lab.AddDelayLine(lab.IspA, delay);
            Console.Error.WriteLine($"natlab: delay line: {line}");
        }
    }

    public int Count(int fallback) =>
        Positional.Count == 0 ? fallback
        : int.TryParse(Positional[0], NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n > 0 ? n
        : throw new ArgumentException($"bad trial count '{Positional[0]}'");
}

/// <summary>Where the repository and its published binaries are.</summary>
public static class Repository
{
    public static string Root { get; } = Find();

    public static string Artifacts => Path.Combine(Root, "artifacts");

    private static string Find()
    {
        foreach (string start in new[] { AppContext.BaseDirectory, Environment.CurrentDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "Punchhole.sln")))
                {
                    return dir.FullName;
                }
            }
        }
        return Environment.CurrentDirectory;
    }
}
