using Punchhole.Server;

namespace Punchhole.Tests.Server;

/// <summary>The relay's lock-free slot stack: under contention no slot is ever handed out twice, and none is lost.</summary>
public class SlotStackTests
{
    [Fact(Timeout = 60_000)]
    public async Task Threads_that_pop_and_push_at_once_never_hold_the_same_slot_and_lose_none()
    {
        const int capacity = 4;
        var stack = new SlotStack(capacity);
        for (int i = 0; i < capacity; i++)
        {
            stack.Push(i);
        }
        var held = new int[capacity];
        int doubles = 0;
        var deadline = DateTime.UtcNow.AddSeconds(2);
        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() =>
        {
            while (DateTime.UtcNow < deadline)
            {
                // Hold two slots at a time and give them back in turn: the pattern (pop A, pop B, push A)
                // that fools a stack without its tag into handing B out twice.
                for (int n = 0; n < 1000; n++)
                {
                    bool gotFirst = stack.TryPop(out int first);
                    bool gotSecond = stack.TryPop(out int second);
                    foreach (var (got, slot) in new[] { (gotFirst, first), (gotSecond, second) })
                    {
                        if (got && Interlocked.Exchange(ref held[slot], 1) != 0)
                        {
                            Interlocked.Increment(ref doubles);
                        }
                    }
                    if (gotFirst)
                    {
                        Volatile.Write(ref held[first], 0);
                        stack.Push(first);
                    }
                    if (gotSecond)
                    {
                        Volatile.Write(ref held[second], 0);
                        stack.Push(second);
                    }
                }
            }
        })));
        Assert.Equal(0, doubles);
        var left = new List<int>();
        for (int slot = stack.TakeAll(); slot >= 0 && left.Count <= capacity; slot = stack.After(slot))
        {
            left.Add(slot);
        }
        Assert.Equal(Enumerable.Range(0, capacity), left.Order());
        Assert.False(stack.TryPop(out _));
    }
}
