using Punchhole.Protocol;

namespace Punchhole.Benchmarks.Naive;

/// <summary>
/// The waiting side of a straightforward server: an async method that awaits its
/// TaskCompletionSource's task until the partner completes it (inline, on the partner's thread).
/// </summary>
internal static class NaiveWaiter
{
    public static async Task<PeerAddress> AwaitPartnerAsync(Task<PeerAddress> partner) => await partner;
}
