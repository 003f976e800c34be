using System.Globalization;

namespace Punchhole.Protocol;

/// <summary>How .NET's socket engine runs in our programs that serve or make many connections.</summary>
public static class SocketEngine
{
    /// <summary>
    /// Completions run inline on <paramref name="threads"/> epoll threads instead of hopping to the
    /// thread pool: every continuation in tstun and the load tool is short and never blocks, so the
    /// hop would be pure cost. .NET reads these once, when the first socket starts the engine, so
    /// call this before any socket exists. Settings already in the environment win.
    /// </summary>
    public static void UseInlineCompletions(int threads)
    {
        SetDefault("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS", "1");
        SetDefault("DOTNET_SYSTEM_NET_SOCKETS_THREAD_COUNT", threads.ToString(CultureInfo.InvariantCulture));
    }

    private static void SetDefault(string variable, string value)
    {
        if (Environment.GetEnvironmentVariable(variable) is null)
        {
            Environment.SetEnvironmentVariable(variable, value);
        }
    }
}
