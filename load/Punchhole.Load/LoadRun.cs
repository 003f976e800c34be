using System.Diagnostics;

namespace Punchhole.Load;

/// <summary>
/// What every scenario of one run shares: its options and target, the watchdog behind every
/// deadline, the probe of the server, and the hard deadline. At the hard deadline everything still
/// open is aborted (and counted unfinished); if the run has still not ended a few seconds later,
/// the process exits, so no run of this tool can outlive its bounds.
/// </summary>
internal sealed class LoadRun : IDisposable
{
    private const int MaxDiagnostics = 5;
    private static readonly TimeSpan s_exitGrace = TimeSpan.FromSeconds(5);

    private readonly Thread _hardStop;
    private readonly ManualResetEventSlim _ended = new();
    private int _diagnostics;
    private volatile bool _stopping;

    public LoadRun(LoadOptions options, LoadTarget target, ServerProbe? server, TextWriter diagnostics)
    {
        Options = options;
        Target = target;
        Server = server;
        // Workers report concurrently; a plain writer (a StringWriter in tests) is not thread-safe.
        Diagnostics = TextWriter.Synchronized(diagnostics);
        HardDeadline = Stopwatch.GetTimestamp() + Ticks(options.HardDeadline);
        _hardStop = new Thread(EnforceHardDeadline) { IsBackground = true, Name = "load hard deadline" };
        _hardStop.Start();
    }

    public LoadOptions Options { get; }

    public LoadTarget Target { get; }

    public ServerProbe? Server { get; }

    public Watchdog Watchdog { get; } = new();

    /// <summary>Where the first few wrong replies are described (stderr).</summary>
    public TextWriter Diagnostics { get; }

    /// <summary>The Stopwatch timestamp at which the run is cut short.</summary>
    public long HardDeadline { get; }

    /// <summary>True once the hard deadline has passed: start nothing more.</summary>
    public bool Stopping => _stopping;

    public static long Ticks(TimeSpan span) => (long)(span.TotalSeconds * Stopwatch.Frequency);

    public static double Seconds(long ticks) => ticks / (double)Stopwatch.Frequency;

    /// <summary>Records one pairing's outcome; describes the first few wrong replies on stderr.</summary>
    public void Record(RunTally tally, Pairing pairing, ErrorKind? error, long elapsedTicks)
    {
        if (error is not { } kind)
        {
            tally.RecordOk(elapsedTicks);
            return;
        }
        tally.RecordError(kind);
        if (kind is ErrorKind.BadReply or ErrorKind.WrongAddress or ErrorKind.NoReply
            && Interlocked.Increment(ref _diagnostics) <= MaxDiagnostics)
        {
            Diagnostics.WriteLine($"punchhole-load: {ErrorKinds.Name(kind)}: {pairing.Describe()}");
        }
    }

    private void EnforceHardDeadline()
    {
        var left = TimeSpan.FromSeconds(Seconds(HardDeadline - Stopwatch.GetTimestamp()));
        if (_ended.Wait(left > TimeSpan.Zero ? left : TimeSpan.Zero))
        {
            return;
        }
        _stopping = true;
        Watchdog.AbortAll();
        Diagnostics.WriteLine($"punchhole-load: the run reached its hard deadline ({Options.HardDeadline.TotalSeconds:0.#} s): aborting what is still open");
        if (_ended.Wait(s_exitGrace))
        {
            return;
        }
        Diagnostics.WriteLine("punchhole-load: the run did not end after its hard deadline: exiting");
        Environment.Exit(3);
    }

    public void Dispose()
    {
        _ended.Set();
        _hardStop.Join();
        Watchdog.Dispose();
        _ended.Dispose();
    }
}
