using System.Buffers;
using System.Text;
using Punchhole.Secure;
using Punchhole.Secure.Codes;
using Punchhole.Secure.Records;
using static Punchhole.Fuzz.InvariantException;

namespace Punchhole.Fuzz;

/// <summary>Targets in the secure channel: the record opener and the code parser.</summary>
public static class SecureTargets
{
    /// <summary>The key the secure-records corpus was sealed with: 32 bytes 0x00..0x1f.</summary>
    public static byte[] RecordKey { get; } = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray();

    /// <summary>
    /// RecordOpener on arbitrary bytes as one direction's wire: it either opens records (each at
    /// most 64 KiB, nothing after a final one) or fails with a SecureChannelException, and never
    /// opens anything once it failed. Any other exception is a bug.
    /// </summary>
    public static void Records(ReadOnlySpan<byte> input)
    {
        using var opener = new RecordOpener(RecordKey);
        var buffer = new ReadOnlySequence<byte>(input.ToArray());
        bool failed = false;
        bool final = false;
        for (int i = 0; i < 1000; i++)
        {
            try
            {
                if (!opener.TryOpen(ref buffer, out var plaintext, out bool last))
                {
                    return;
                }
                Check(!failed && !final, "a record opened after a failure or after the final record");
                Check(plaintext.Length <= RecordFormat.MaxPlaintextLength, $"a record of {plaintext.Length} bytes");
                final = last;
            }
            catch (SecureChannelException)
            {
                failed = true;
                // Once failed, the opener stays failed.
                try
                {
                    opener.TryOpen(ref buffer, out _, out _);
                    Check(final, "the opener opened again after failing");
                }
                catch (SecureChannelException)
                {
                }
                return;
            }
        }
    }

    /// <summary>
    /// The code parser on any text: deciding whether it is a code never throws; a code either
    /// parses to a canonical form that parses back to itself (same rendezvous key and password) or
    /// is refused with one line of CodeFormatException.
    /// </summary>
    public static void PairingCodeText(ReadOnlySpan<byte> input)
    {
        string text = Encoding.UTF8.GetString(input);
        if (!PairingCode.LooksLikeCode(text))
        {
            return;
        }
        PairingCode code;
        try
        {
            code = PairingCode.Parse(text);
        }
        catch (CodeFormatException e)
        {
            Check(!e.Message.Contains('\n') && e.Message.Length < 300, $"an unclear refusal: {e.Message}");
            return;
        }
        string canonical = code.ToString();
        var again = PairingCode.Parse(canonical);
        Check(again.ToString() == canonical, $"'{canonical}' does not parse back to itself");
        Check(again.RendezvousKey() == code.RendezvousKey() && again.Password().AsSpan().SequenceEqual(code.Password()), "the keys differ after a round trip");
    }
}
