using Punchhole.Secure.Codes;
using Punchhole.Secure.Handshake;
using Punchhole.Secure.Records;
using Punchhole.Secure.Sodium;

namespace Punchhole.Secure;

/// <summary>
/// A quick check that libsodium is linked in and works where the binary runs (an empty root
/// included): a known SHA-512, a CPace exchange between two in-memory parties, and a sealed
/// record opened again, with each cipher this CPU has. Used by the client's hidden --self-test-crypto.
/// </summary>
internal static class CryptoSelfTest
{
    /// <summary>One line describing the result, e.g. "libsodium 1.0.18: sha512, cpace, chacha20poly1305 records ok, aes256gcm".</summary>
    /// <exception cref="InvalidOperationException">A check failed.</exception>
    public static string Run()
    {
        Span<byte> digest = stackalloc byte[Sha512.HashLength];
        Sha512.Hash("abc"u8, digest);
        Check(Convert.ToHexStringLower(digest[..8]) == "ddaf35a193617aba", "SHA-512 of \"abc\"");

        var code = PairingCode.Generate();
        byte[] password = code.Password();
        byte[] channel = new byte[32];
        code.RendezvousKey().CopyTo(channel);
        using var a = SecureHandshake.Party.Start(password, channel);
        using var b = SecureHandshake.Party.Start(password, channel);
        a.ReceiveHello(b.Hello);
        b.ReceiveHello(a.Hello);
        using var keysA = a.Finish(b.Confirmation);
        using var keysB = b.Finish(a.Confirmation);
        Check(keysA.Role != keysB.Role && keysA.SendKey.SequenceEqual(keysB.ReceiveKey), "the CPace exchange");

        var wire = new System.Buffers.ArrayBufferWriter<byte>();
        using (var sealer = new RecordSealer(keysA.SendKey))
        {
            sealer.Seal("punchhole"u8, final: true, wire);
        }
        using var opener = new RecordOpener(keysB.ReceiveKey);
        var buffer = new System.Buffers.ReadOnlySequence<byte>(wire.WrittenMemory);
        bool opened = opener.TryOpen(ref buffer, out var plaintext, out bool final);
        Check(opened && final && plaintext.Span.SequenceEqual("punchhole"u8), "a sealed record");

        string aes = "aes256gcm not on this CPU";
        if (Aes256Gcm.IsAvailable)
        {
            wire.Clear();
            using (var sealer = new RecordSealer(keysA.SendKey))
            {
                sealer.Switch(CipherSuite.Aes256Gcm, keysA.SendKey);
                sealer.Seal("punchhole"u8, final: true, wire);
            }
            using var aesOpener = new RecordOpener(keysB.ReceiveKey);
            aesOpener.Switch(CipherSuite.Aes256Gcm, keysB.ReceiveKey);
            buffer = new System.Buffers.ReadOnlySequence<byte>(wire.WrittenMemory);
            opened = aesOpener.TryOpen(ref buffer, out plaintext, out final);
            Check(opened && final && plaintext.Span.SequenceEqual("punchhole"u8), "a sealed AES-256-GCM record");
            aes = "aes256gcm";
        }
        return $"libsodium {Library.Version}: sha512, cpace, chacha20poly1305 records ok, {aes}";
    }

    private static void Check(bool ok, string what)
    {
        if (!ok)
        {
            throw new InvalidOperationException($"crypto self-test failed: {what}");
        }
    }
}
