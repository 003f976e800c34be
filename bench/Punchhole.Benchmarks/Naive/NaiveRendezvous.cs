using System.Net;
using System.Text;

namespace Punchhole.Benchmarks.Naive;

/// <summary>
/// The pairing pipeline of a straightforward async server: the key as a hex string, one
/// Dictionary behind one lock, a TaskCompletionSource per waiter awaited by an async method,
/// the reply built with string.Format and encoded into a new byte array. The baseline of the
/// in-memory pipeline benchmark.
/// </summary>
internal sealed class NaiveRendezvous
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Waiter> _waiting = new(StringComparer.Ordinal);

    /// <summary>One client: its key bytes and observed endpoint in, its reply bytes out once its partner is there.</summary>
    public async Task<byte[]> ArriveAsync(byte[] wireKey, IPEndPoint client)
    {
        string key = Convert.ToHexString(wireKey);
        string mine = NaiveReply.Format(client);
        Waiter? partner;
        TaskCompletionSource<string>? completion = null;
        lock (_gate)
        {
            if (!_waiting.Remove(key, out partner))
            {
                completion = new TaskCompletionSource<string>();
                _waiting.Add(key, new Waiter(mine, completion));
            }
        }
        string reply;
        if (partner is not null)
        {
            partner.Completion.SetResult(mine);
            reply = partner.Reply;
        }
        else
        {
            reply = await completion!.Task;
        }
        return Encoding.ASCII.GetBytes(reply);
    }

    private sealed record Waiter(string Reply, TaskCompletionSource<string> Completion);
}
