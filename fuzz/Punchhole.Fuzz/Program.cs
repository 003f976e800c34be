using Punchhole.Fuzz;
using SharpFuzz;

// Usage: Punchhole.Fuzz TARGET                 run under afl-fuzz (input on stdin, or a file AFL names)
//        Punchhole.Fuzz TARGET --replay PATH... run every file (or every file in each folder) once
if (args.Length == 0 || !FuzzTargets.TryGet(args[0], out var target))
{
    Console.Error.WriteLine($"usage: Punchhole.Fuzz TARGET [--replay PATH...]; targets: {string.Join(", ", FuzzTargets.Names)}");
    return 2;
}

if (args.Length > 1 && args[1] == "--replay")
{
    int failures = 0, count = 0;
    foreach (string file in args.Skip(2).SelectMany(path => Directory.Exists(path) ? Directory.EnumerateFiles(path, "*", SearchOption.AllDirectories) : [path]))
    {
        count++;
        try
        {
            target(File.ReadAllBytes(file));
        }
        catch (Exception e)
        {
            failures++;
            Console.Error.WriteLine($"{file}: {e.GetType().Name}: {e.Message}");
        }
    }
    Console.Out.WriteLine($"{args[0]}: {count} inputs, {failures} failures");
    return failures == 0 ? 0 : 1;
}

// In-process persistent mode: an exception escaping the target is reported to AFL as a crash.
Fuzzer.Run(stream =>
{
    using var buffer = new MemoryStream();
    stream.CopyTo(buffer);
    target(buffer.GetBuffer().AsSpan(0, (int)buffer.Length));
});
return 0;
