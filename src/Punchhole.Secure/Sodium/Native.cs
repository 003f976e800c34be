using System.Runtime.InteropServices;

namespace Punchhole.Secure.Sodium;

/// <summary>
/// The libsodium functions the secure channel uses, bound by hand. An AOT executable links
/// libsodium.a in (DirectPInvoke "libsodium"); a JIT process loads libsodium.so. Nothing here is
/// called before <see cref="Library.EnsureInitialized"/>.
/// </summary>
internal static unsafe partial class Native
{
    private const string Lib = "libsodium";

    [LibraryImport(Lib)]
    internal static partial int sodium_init();

    [LibraryImport(Lib)]
    internal static partial byte* sodium_version_string();

    [LibraryImport(Lib)]
    internal static partial void randombytes_buf(byte* buffer, nuint size);

    [LibraryImport(Lib)]
    internal static partial void sodium_memzero(byte* pointer, nuint length);

    [LibraryImport(Lib)]
    internal static partial int sodium_memcmp(byte* a, byte* b, nuint length);

    [LibraryImport(Lib)]
    internal static partial int crypto_core_ristretto255_from_hash(byte* point, byte* hash);

    [LibraryImport(Lib)]
    internal static partial int crypto_core_ristretto255_is_valid_point(byte* point);

    [LibraryImport(Lib)]
    internal static partial void crypto_core_ristretto255_scalar_random(byte* scalar);

    [LibraryImport(Lib)]
    internal static partial int crypto_scalarmult_ristretto255(byte* result, byte* scalar, byte* point);

    [LibraryImport(Lib)]
    internal static partial int crypto_scalarmult_ristretto255_base(byte* result, byte* scalar);

    [LibraryImport(Lib)]
    internal static partial nuint crypto_hash_sha512_statebytes();

    [LibraryImport(Lib)]
    internal static partial int crypto_hash_sha512(byte* digest, byte* message, ulong length);

    [LibraryImport(Lib)]
    internal static partial int crypto_hash_sha512_init(void* state);

    [LibraryImport(Lib)]
    internal static partial int crypto_hash_sha512_update(void* state, byte* message, ulong length);

    [LibraryImport(Lib)]
    internal static partial int crypto_hash_sha512_final(void* state, byte* digest);

    [LibraryImport(Lib)]
    internal static partial nuint crypto_auth_hmacsha512_statebytes();

    [LibraryImport(Lib)]
    internal static partial int crypto_auth_hmacsha512_init(void* state, byte* key, nuint keyLength);

    [LibraryImport(Lib)]
    internal static partial int crypto_auth_hmacsha512_update(void* state, byte* message, ulong length);

    [LibraryImport(Lib)]
    internal static partial int crypto_auth_hmacsha512_final(void* state, byte* mac);

    [LibraryImport(Lib)]
    internal static partial nuint crypto_auth_hmacsha256_statebytes();

    [LibraryImport(Lib)]
    internal static partial int crypto_auth_hmacsha256_init(void* state, byte* key, nuint keyLength);

    [LibraryImport(Lib)]
    internal static partial int crypto_auth_hmacsha256_update(void* state, byte* message, ulong length);

    [LibraryImport(Lib)]
    internal static partial int crypto_auth_hmacsha256_final(void* state, byte* mac);

    [LibraryImport(Lib)]
    internal static partial uint randombytes_uniform(uint upperBound);

    [LibraryImport(Lib)]
    internal static partial int crypto_aead_chacha20poly1305_ietf_encrypt_detached(
        byte* ciphertext, byte* mac, ulong* macLength, byte* message, ulong messageLength,
        byte* additional, ulong additionalLength, byte* secretNonce, byte* publicNonce, byte* key);

    [LibraryImport(Lib)]
    internal static partial int crypto_aead_chacha20poly1305_ietf_decrypt_detached(
        byte* message, byte* secretNonce, byte* ciphertext, ulong ciphertextLength, byte* mac,
        byte* additional, ulong additionalLength, byte* publicNonce, byte* key);

    [LibraryImport(Lib)]
    internal static partial int crypto_aead_aes256gcm_is_available();

    [LibraryImport(Lib)]
    internal static partial nuint crypto_aead_aes256gcm_statebytes();

    [LibraryImport(Lib)]
    internal static partial int crypto_aead_aes256gcm_beforenm(byte* state, byte* key);

    [LibraryImport(Lib)]
    internal static partial int crypto_aead_aes256gcm_encrypt_detached_afternm(
        byte* ciphertext, byte* mac, ulong* macLength, byte* message, ulong messageLength,
        byte* additional, ulong additionalLength, byte* secretNonce, byte* publicNonce, byte* state);

    [LibraryImport(Lib)]
    internal static partial int crypto_aead_aes256gcm_decrypt_detached_afternm(
        byte* message, byte* secretNonce, byte* ciphertext, ulong ciphertextLength, byte* mac,
        byte* additional, ulong additionalLength, byte* publicNonce, byte* state);

    [LibraryImport(Lib)]
    internal static partial int crypto_pwhash(
        byte* output, ulong outputLength, byte* password, ulong passwordLength,
        byte* salt, ulong opsLimit, nuint memLimit, int algorithm);
}
