using Punchhole.Secure;

namespace Punchhole.Client;

/// <summary>The hidden --self-test-crypto option: one line on stdout and exit 0, or one line on stderr and exit 1.</summary>
internal static class CryptoCheck
{
    public static int Run(TextWriter output, TextWriter error)
    {
        try
        {
            output.WriteLine(CryptoSelfTest.Run());
            return 0;
        }
        catch (Exception e) when (e is InvalidOperationException or DllNotFoundException or EntryPointNotFoundException)
        {
            error.WriteLine($"punchhole: {e.Message}");
            return 1;
        }
    }
}
