namespace Punchhole.NatLab;

public sealed partial class PunchPair
{
    /// <summary>
    /// A line each way ("ping from a", "ping from b"), then both stdins closed: whether both lines
    /// arrived, and the exit codes within <paramref name="exitWait"/>.
    /// </summary>
    public async Task<(bool Crossed, int? A, int? B)> PingAndEndAsync(TimeSpan exitWait)
    {
        await A.WriteAsync("ping from a\n");
        await B.WriteAsync("ping from b\n");
        bool crossed = await B.WaitForStdoutAsync("ping from a\n", TimeSpan.FromSeconds(5))
            && await A.WaitForStdoutAsync("ping from b\n", TimeSpan.FromSeconds(5));
        A.CloseStdin();
        B.CloseStdin();
        var (codeA, codeB, _) = await WaitExitAsync(exitWait);
        return (crossed, codeA, codeB);
    }
}
