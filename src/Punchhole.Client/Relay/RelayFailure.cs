namespace Punchhole.Client.Relay;

/// <summary>Why a relay failed: the side that failed ("stdin", "the peer", ...) and the sentence the user reads.</summary>
internal sealed record RelayFailure(string Side, string Message)
{
    public static RelayFailure Reading(string side, Exception e) => new(side, ErrorText.Failure(side, reading: true, e));

    public static RelayFailure Writing(string side, Exception e) => new(side, ErrorText.Failure(side, reading: false, e));
}
