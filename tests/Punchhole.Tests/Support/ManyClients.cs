namespace Punchhole.Tests.Support;

/// <summary>
/// Runs many client flows at once on the thread pool, outside xunit's synchronization context.
/// Under that context every continuation of test code is posted to a thread of its own, created
/// on the thread that completed the awaited operation: for a socket, the process's socket engine.
/// A few thousand clients awaiting in test code then make that engine create threads one after
/// another, and every socket in the test process (an in-process server's too) waits seconds for
/// its completions. On the pool, a continuation runs where the operation completed.
/// </summary>
internal static class ManyClients
{
    /// <summary>Runs <paramref name="flow"/> for 0 .. <paramref name="count"/> - 1, all at once; the results in order.</summary>
    public static Task<T[]> RunAsync<T>(int count, Func<int, Task<T>> flow) =>
        Task.WhenAll(Enumerable.Range(0, count).Select(i => Task.Run(() => flow(i))));

    /// <summary>Runs <paramref name="flow"/> for 0 .. <paramref name="count"/> - 1, all at once.</summary>
    public static Task RunAsync(int count, Func<int, Task> flow) =>
        Task.WhenAll(Enumerable.Range(0, count).Select(i => Task.Run(() => flow(i))));
}
