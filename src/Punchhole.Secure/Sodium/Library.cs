using System.Runtime.InteropServices;

namespace Punchhole.Secure.Sodium;

/// <summary>
/// libsodium's one-time start-up. sodium_init picks the fastest implementations for this CPU and
/// readies the random source (getrandom(2): nothing under /dev is needed). The state sizes the
/// bindings assume are checked here once, so a different libsodium fails loudly instead of
/// writing past a buffer.
/// </summary>
internal static unsafe class Library
{
    /// <summary>The state sizes of libsodium 1.0.18 on 64-bit Linux, which the bindings allocate.</summary>
    internal const int Sha512StateBytes = 208;
    internal const int HmacSha512StateBytes = 416;
    internal const int HmacSha256StateBytes = 208;

    private static readonly Lazy<bool> Started = new(Start, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The version of the libsodium in use, e.g. "1.0.18".</summary>
    public static string Version
    {
        get
        {
            EnsureInitialized();
            return Marshal.PtrToStringUTF8((nint)Native.sodium_version_string()) ?? "";
        }
    }

    public static void EnsureInitialized() => _ = Started.Value;

    private static bool Start()
    {
        if (Native.sodium_init() < 0)
        {
            throw new InvalidOperationException("libsodium failed to start: no random source is available.");
        }
        Check("crypto_hash_sha512_state", Native.crypto_hash_sha512_statebytes(), Sha512StateBytes);
        Check("crypto_auth_hmacsha512_state", Native.crypto_auth_hmacsha512_statebytes(), HmacSha512StateBytes);
        Check("crypto_auth_hmacsha256_state", Native.crypto_auth_hmacsha256_statebytes(), HmacSha256StateBytes);
        Check("crypto_aead_aes256gcm_state", Native.crypto_aead_aes256gcm_statebytes(), Aes256Gcm.StateBytes);
        return true;
    }

    private static void Check(string name, nuint actual, int expected)
    {
        if (actual != (nuint)expected)
        {
            throw new InvalidOperationException($"libsodium's {name} is {actual} bytes, not the {expected} these bindings allocate.");
        }
    }
}
