namespace Punchhole.Server;

/// <summary>What <see cref="PairingTable.PairOrWait"/> did with an arriving client.</summary>
internal enum PairingResult
{
    /// <summary>A waiting partner with the same key was claimed and taken out of the table.</summary>
    Paired,

    /// <summary>No partner: the client now waits in the table.</summary>
    Waiting,

    /// <summary>No partner, and the table already holds the most waiting clients allowed.</summary>
    Full,
}
