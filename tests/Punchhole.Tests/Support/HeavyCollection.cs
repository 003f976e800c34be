namespace Punchhole.Tests.Support;

/// <summary>
/// Tests that open thousands of sockets or measure CPU time run in this collection: after every
/// parallel test has finished, one at a time, so they neither starve the others of descriptors
/// nor measure their load.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class HeavyCollection
{
    public const string Name = "heavy: runs alone";
}
