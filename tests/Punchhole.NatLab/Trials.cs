namespace Punchhole.NatLab;

internal static class Trials
{
    public static Task<int> RunAsync(Options options)
    {
        _ = options;
        return Task.FromResult(1);
    }
}
