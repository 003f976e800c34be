namespace Punchhole.Tests.Support;

/// <summary>
/// Tests that open thousands of sockets, measure CPU time or keep a core busy for a minute (qemu,
/// pairs of freshly started JIT programs) run in this collection: after every parallel test has
/// finished, one at a time, so they neither starve the others of descriptors or CPU nor measure
/// their load.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class HeavyCollection
{
    public const string Name = "heavy: runs alone";
}
