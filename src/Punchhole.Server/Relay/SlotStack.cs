namespace Punchhole.Server;

/// <summary>
/// A lock-free stack of slot numbers 0..capacity-1, each in it at most once, with nothing allocated
/// after construction: a head word (a 32-bit tag that every change moves on, against ABA, and the
/// top slot plus one) and a link per slot. Push and pop are one compare-and-swap each; a thread that
/// loses a race retries only because another thread changed the head.
/// </summary>
internal sealed class SlotStack
{
    private readonly int[] _next;
    private long _head;

    public SlotStack(int capacity) => _next = new int[capacity];

    public void Push(int slot)
    {
        while (true)
        {
            long head = Volatile.Read(ref _head);
            _next[slot] = Top(head);
            if (Interlocked.CompareExchange(ref _head, Word(head, slot), head) == head)
            {
                return;
            }
        }
    }

    public bool TryPop(out int slot)
    {
        while (true)
        {
            long head = Volatile.Read(ref _head);
            slot = Top(head);
            if (slot < 0)
            {
                return false;
            }
            // Stale if the slot was popped and pushed again meanwhile: the tag has moved, so the swap fails.
            int next = Volatile.Read(ref _next[slot]);
            if (Interlocked.CompareExchange(ref _head, Word(head, next), head) == head)
            {
                return true;
            }
        }
    }

    /// <summary>Empties the stack; the slots it held, the last pushed first: the top, then each one's <see cref="After"/>, to -1.</summary>
    public int TakeAll()
    {
        while (true)
        {
            long head = Volatile.Read(ref _head);
            if (Interlocked.CompareExchange(ref _head, Word(head, -1), head) == head)
            {
                return Top(head);
            }
        }
    }

    /// <summary>The slot below <paramref name="slot"/> in a chain that <see cref="TakeAll"/> returned; -1 at its end.</summary>
    public int After(int slot) => _next[slot];

    private static int Top(long head) => (int)(uint)head - 1;

    private static long Word(long head, int top) => (((head >>> 32) + 1) << 32) | (uint)(top + 1);
}
