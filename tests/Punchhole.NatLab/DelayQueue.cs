namespace Punchhole.NatLab;

/// <summary>
/// The packets a delay line holds, first in first out, each with the time it is due. A fixed
/// number of fixed-size slots allocated once: the memory is bounded and nothing is allocated
/// per packet. With one delay for every packet, the head is always the first one due, so
/// nothing is ever reordered.
/// </summary>
internal sealed class DelayQueue
{
    /// <summary>Bytes per slot: above the lab's MTU (1500) with room to spare.</summary>
    public const int SlotSize = 2048;

    private readonly byte[] _slots;
    private readonly int[] _lengths;
    private readonly long[] _due;
    private int _head;

    public DelayQueue(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _slots = new byte[capacity * SlotSize];
        _lengths = new int[capacity];
        _due = new long[capacity];
    }

    public int Capacity => _lengths.Length;

    public int Count { get; private set; }

    public bool IsFull => Count == Capacity;

    /// <summary>The free slot a packet is read into before <see cref="Commit"/>; only when not full.</summary>
    public Span<byte> Tail
    {
        get
        {
            if (IsFull)
            {
                throw new InvalidOperationException("the delay queue is full");
            }
            return _slots.AsSpan(Slot(Count) * SlotSize, SlotSize);
        }
    }

    /// <summary>Queues the packet of <paramref name="length"/> bytes just written into <see cref="Tail"/>.</summary>
    public void Commit(int length, long due)
    {
        int slot = Slot(Count);
        _lengths[slot] = length;
        _due[slot] = due;
        Count++;
    }

    /// <summary>When the first packet is due; false when the queue is empty.</summary>
    public bool TryPeekDue(out long due)
    {
        due = Count == 0 ? 0 : _due[_head];
        return Count > 0;
    }

    /// <summary>The first packet (only when not empty).</summary>
    public Span<byte> Head => _slots.AsSpan(_head * SlotSize, _lengths[_head]);

    public void Dequeue()
    {
        _head = Slot(1);
        Count--;
    }

    private int Slot(int offset) => (_head + offset) % Capacity;
}
