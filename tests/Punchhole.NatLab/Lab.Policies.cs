namespace Punchhole.NatLab;

/// <summary>Which rules each router of a lab gets, where the two sites differ.</summary>
public sealed partial class Lab
{
    /// <summary>
    /// The variant whose rules <paramref name="router"/> is given: the lab's own, except in the
    /// mixed lab, where router-a drops unsolicited SYNs and router-b resets them.
    /// </summary>
    public LabVariant RulesOf(LabHost router) => Variant switch
    {
        LabVariant.Mixed => router == RouterA ? LabVariant.Drop : LabVariant.Reset,
        _ => Variant,
    };
}
