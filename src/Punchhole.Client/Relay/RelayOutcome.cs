using Punchhole.Client.Progress;

namespace Punchhole.Client.Relay;

/// <summary>
/// How a relay ended, and the exit-status rules in one place: 0 only when every byte read from
/// each source was accepted by its destination and each stream ended cleanly; 1 for a failure
/// (the connection was reset) or for input that was never sent.
/// </summary>
internal sealed record RelayOutcome(TransferSnapshot Figures, RelayFailure? Failure, string? Unsent = null)
{
    public int ExitCode => Failure is null && Unsent is null ? 0 : 1;

    /// <summary>The final line: what failed, or "done", with bytes, duration and average rate.</summary>
    public string Describe() => (Failure, Unsent) switch
    {
        ({ } failure, _) => $"{failure.Message}; the connection was aborted ({TransferText.Final(Figures)})",
        (null, { } unsent) => $"{unsent} ({TransferText.Final(Figures)})",
        _ => $"done: {TransferText.Final(Figures)}",
    };
}
