namespace Punchhole.Protocol.CommandLine;

/// <summary>
/// A program's options whose value is a number (a whole number, a port, seconds), each with its
/// bounds and what it sets in the options record: one line per option, read by one piece of code,
/// with the one-line errors of <see cref="OptionValue"/>.
/// </summary>
/// <typeparam name="TOptions">The immutable options record the values go into.</typeparam>
public sealed class OptionTable<TOptions>
{
    private delegate bool Reader(string name, string value, ref TOptions options, out string? error);

    private readonly Dictionary<string, Reader> _byName = new(StringComparer.Ordinal);

    /// <summary>
    /// A whole number from <paramref name="min"/> to <paramref name="max"/>. <paramref name="names"/>
    /// are the option's spellings, separated by spaces ("-n --sessions"); <paramref name="set"/>
    /// returns the options with the value in.
    /// </summary>
    public OptionTable<TOptions> Integer(string names, int min, int max, Func<TOptions, int, TOptions> set) =>
        Add(names, (string name, string value, ref TOptions options, out string? error) =>
        {
            if (!OptionValue.TryInteger(name, value, min, max, out int number, out error))
            {
                return false;
            }
            options = set(options, number);
            return true;
        });

    /// <summary>A TCP port, 1..65535, or 0 too when <paramref name="allowZero"/>.</summary>
    public OptionTable<TOptions> Port(string names, bool allowZero, Func<TOptions, int, TOptions> set) =>
        Integer(names, allowZero ? 0 : 1, 65535, set);

    /// <summary>A duration in seconds (see <see cref="OptionValue.TrySeconds"/>).</summary>
    public OptionTable<TOptions> Seconds(string names, bool allowZero, Func<TOptions, TimeSpan, TOptions> set) =>
        Add(names, (string name, string value, ref TOptions options, out string? error) =>
        {
            if (!OptionValue.TrySeconds(name, value, allowZero, out var seconds, out error))
            {
                return false;
            }
            options = set(options, seconds);
            return true;
        });

    /// <summary>
    /// Reads option <paramref name="name"/> into <paramref name="options"/> when the table has it:
    /// null when it does not, else whether <paramref name="value"/> was good (<paramref name="error"/> says why not).
    /// </summary>
    public bool? TryApply(string name, string value, ref TOptions options, out string? error)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!_byName.TryGetValue(name, out var reader))
        {
            error = null;
            return null;
        }
        return reader(name, value, ref options, out error);
    }

    private OptionTable<TOptions> Add(string names, Reader reader)
    {
        foreach (string name in names.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            _byName.Add(name, reader);
        }
        return this;
    }
}
