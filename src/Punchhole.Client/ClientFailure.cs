namespace Punchhole.Client;

/// <summary>A failure the user can act on: the message is the diagnosis, printed as is, exit code 1.</summary>
internal sealed class ClientFailure : Exception
{
    public ClientFailure(string message)
        : base(message)
    {
    }

    public ClientFailure(string message, Exception inner)
        : base(message, inner)
    {
    }
}
