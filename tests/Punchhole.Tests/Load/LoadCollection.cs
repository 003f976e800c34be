namespace Punchhole.Tests.Load;

/// <summary>Tests that put load on the machine: run by themselves, once the parallel tests are done.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class LoadCollection
{
    public const string Name = "load";
}
