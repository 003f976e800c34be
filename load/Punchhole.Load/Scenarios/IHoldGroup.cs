namespace Punchhole.Load.Scenarios;

/// <summary>Some of a hold run's clients: held in this process, or in a child process.</summary>
internal interface IHoldGroup : IDisposable
{
    /// <summary>Opens the first client of every pair and sends its key; returns how many are waiting.</summary>
    Task<int> OpenAsync();

    /// <summary>Sends in every partner; returns what the group measured, open failures included.</summary>
    Task<RunTally> CompleteAsync();

    /// <summary>CPU seconds a child process used in all, known after <see cref="CompleteAsync"/>; 0 in this process.</summary>
    double ChildCpuSeconds { get; }
}
