namespace Punchhole.Client.Punch;

/// <summary>What the punch attempts met, turned into a diagnosis the user can act on.</summary>
internal sealed class PunchTally
{
    public int Attempts { get; set; }

    /// <summary>Attempts answered with a reset (ECONNREFUSED).</summary>
    public int Refused { get; set; }

    /// <summary>Attempts whose SYN got no answer at all: the last one at the deadline, or one the kernel gave up on.</summary>
    public int Unanswered { get; set; }

    /// <summary>Attempts ended by an ICMP error (host or network unreachable).</summary>
    public int Unreachable { get; set; }

    /// <summary>
    /// Times no SYN could leave because the port's connection to the peer was already being set up
    /// (our listener was answering the peer's SYN); not counted as attempts.
    /// </summary>
    public int Occupied { get; set; }

    public string Diagnose(TimeSpan waited)
    {
        string counts = $"{Attempts} attempts in {waited.TotalSeconds:0.#} s: {Unanswered} unanswered, {Refused} refused, {Unreachable} unreachable"
            + (Occupied > 0 ? $"; {Occupied} times none could leave while the peer's own SYN was being answered" : "");
        if (Refused > 0 && Refused * 2 >= Attempts)
        {
            return $"the attempts were refused with a reset ({counts}): the peer's NAT or firewall rejects incoming TCP, or the peer is no longer running punchhole with this KEY; a direct TCP connection was not possible";
        }
        if (Unreachable > 0 && Unreachable * 2 >= Attempts)
        {
            return $"the peer's address is unreachable from here ({counts}): a router or firewall between the hosts rejects it; a direct TCP connection was not possible";
        }
        return $"no SYN from the peer arrived ({counts}): one of the NATs probably gives every destination a new port (symmetric NAT), or a firewall drops TCP between the hosts; a direct TCP connection is not possible between these two hosts";
    }
}
