using Punchhole.Protocol;

namespace Punchhole.Benchmarks.Naive;

/// <summary>
/// Waiting clients as a straightforward server keeps them: one Dictionary behind one lock, and a
/// new TaskCompletionSource for every waiter, which its partner completes. The baseline that
/// <c>PairingTable</c> and the pooled handoff of <c>RendezvousParty</c> are measured against.
/// It is not a strawman: the partner is completed outside the lock.
/// </summary>
internal sealed class LockedWaiterTable
{
    private readonly Lock _gate = new();
    private readonly Dictionary<SessionKey, Waiter> _waiting = [];

    /// <summary>
    /// Pairs with a client waiting with <paramref name="key"/> (and completes its task with
    /// <paramref name="address"/>), or waits as one. The task gives the partner's address.
    /// </summary>
    public Task<PeerAddress> PairOrWait(in SessionKey key, in PeerAddress address)
    {
        Waiter partner;
        lock (_gate)
        {
            if (!_waiting.Remove(key, out partner))
            {
                var completion = new TaskCompletionSource<PeerAddress>();
                _waiting.Add(key, new Waiter(address, completion));
                return completion.Task;
            }
        }
        partner.Completion.SetResult(address);
        return Task.FromResult(partner.Address);
    }

    private readonly record struct Waiter(PeerAddress Address, TaskCompletionSource<PeerAddress> Completion);
}
