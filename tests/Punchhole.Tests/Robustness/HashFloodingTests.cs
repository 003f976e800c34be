using System.Buffers.Binary;
using System.Diagnostics;
using Punchhole.Protocol;
using Punchhole.Server;
using Punchhole.Tests.Support;
using Xunit.Abstractions;

namespace Punchhole.Tests.Robustness;

/// <summary>
/// Hash flooding: clients choose their keys, so an attacker can send many keys that share a prefix
/// or that collide under a hash they know. The key table must keep constant-time operations: filling
/// it with such keys and pairing them all must cost about what random keys cost. A second test shows
/// the measure does catch flooding, on a table whose hash key the attacker knows.
/// </summary>
[Collection(HeavyCollection.Name)]
public class HashFloodingTests(ITestOutputHelper output)
{
    private const int Keys = 4096;
    private const double Bound = 3.0;
    private const int Rounds = 15;

    // A SipHash key the attacker knows (the paper's test key): what a fixed, unkeyed hash amounts to.
    private static readonly KeyHasher s_known = new(0x0706050403020100UL, 0x0f0e0d0c0b0a0908UL);
    private static readonly Lazy<SessionKey[]> s_collidingUnderKnownKey = new(() => Colliding(s_known));

    [Fact(Timeout = 120_000)]
    public Task Adversarial_keys_cost_about_what_random_keys_cost_under_the_servers_randomised_hash() => Task.Run(() =>
    {
        var hasher = KeyHasher.CreateRandom(); // as RendezvousServer makes its table's
        var attacks = new (string Name, SessionKey[] Keys)[]
        {
            ("first 8 bytes shared", SharedPrefix(8)),
            ("first 16 bytes shared", SharedPrefix(16)),
            ("first 24 bytes shared", SharedPrefix(24)),
            ("sequential counters", Sequential()),
            ("colliding under a known SipHash key", s_collidingUnderKnownKey.Value),
        };
        foreach (var (name, keys) in attacks)
        {
            var (random, attack) = Measure(hasher, RandomKeys(), keys);
            double ratio = attack / random;
            output.WriteLine($"{name}: {attack:0.000} ms vs random {random:0.000} ms for {Keys} waits + {Keys} pairings: ratio {ratio:0.00} (bar < {Bound})");
            Assert.True(ratio < Bound, $"{name}: {ratio:0.00}x the cost of random keys");
        }
    });

    [Fact(Timeout = 120_000)]
    public Task The_measure_catches_flooding_when_the_attacker_knows_the_hash_key() => Task.Run(() =>
    {
        var (random, attack) = Measure(s_known, RandomKeys(), s_collidingUnderKnownKey.Value);
        double ratio = attack / random;
        output.WriteLine($"known hash key, colliding keys: {attack:0.000} ms vs random {random:0.000} ms: ratio {ratio:0.0}");
        Assert.True(ratio > 3 * Bound, $"colliding keys cost only {ratio:0.00}x random ones: the measure would not notice flooding");
    });

    /// <summary>
    /// The median of several rounds, interleaved: <see cref="Keys"/> clients wait in a fresh table, then
    /// a partner for each arrives and takes it. Milliseconds for random keys and for the attack keys.
    /// </summary>
    private static (double Random, double Attack) Measure(KeyHasher hasher, SessionKey[] random, SessionKey[] attack)
    {
        // Warm-up: let the JIT and the caches settle on both key sets.
        for (int i = 0; i < 3; i++)
        {
            Fill(hasher, random);
            Fill(hasher, attack);
        }
        var randomTimes = new double[Rounds];
        var attackTimes = new double[Rounds];
        for (int round = 0; round < Rounds; round++)
        {
            randomTimes[round] = Fill(hasher, random);
            attackTimes[round] = Fill(hasher, attack);
        }
        Array.Sort(randomTimes);
        Array.Sort(attackTimes);
        return (randomTimes[Rounds / 2], attackTimes[Rounds / 2]);
    }

    private static double Fill(KeyHasher hasher, SessionKey[] keys)
    {
        var table = new PairingTable(Keys, hasher);
        var waiters = keys.Select(k => new Party(k)).ToArray();
        var partners = keys.Select(k => new Party(k)).ToArray();
        var clock = Stopwatch.StartNew();
        foreach (var waiter in waiters)
        {
            if (table.PairOrWait(waiter, out _) != PairingResult.Waiting)
            {
                throw new InvalidOperationException("a waiter did not wait");
            }
        }
        foreach (var partner in partners)
        {
            if (table.PairOrWait(partner, out _) != PairingResult.Paired)
            {
                throw new InvalidOperationException("a partner did not pair");
            }
        }
        double elapsed = clock.Elapsed.TotalMilliseconds;
        Assert.Equal(0, table.Count);
        return elapsed;
    }

    private static SessionKey[] RandomKeys() => Enumerable.Range(0, Keys).Select(_ => SessionKey.Read(RendezvousClient.NewKey())).ToArray();

    private static SessionKey[] SharedPrefix(int shared)
    {
        var prefix = RendezvousClient.NewKey();
        return Enumerable.Range(0, Keys).Select(_ =>
        {
            var key = RendezvousClient.NewKey();
            prefix.AsSpan(0, shared).CopyTo(key);
            return SessionKey.Read(key);
        }).ToArray();
    }

    private static SessionKey[] Sequential() => Enumerable.Range(0, Keys).Select(i =>
    {
        var key = new byte[SessionKey.Length];
        BinaryPrimitives.WriteInt32BigEndian(key.AsSpan(28), i);
        return SessionKey.Read(key);
    }).ToArray();

    /// <summary>Keys that all land in bucket 0 of a <see cref="Keys"/>-bucket table hashed with <paramref name="hasher"/>: found by brute force, as an attacker who knows the hash key would.</summary>
    private static SessionKey[] Colliding(KeyHasher hasher)
    {
        const ulong W1 = 0x1111_1111_1111_1111, W2 = 0x2222_2222_2222_2222, W3 = 0x3333_3333_3333_3333;
        var keys = new SessionKey[Keys];
        var bytes = new byte[SessionKey.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(8), W1);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(16), W2);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(24), W3);
        int found = 0;
        for (ulong w0 = 0; found < Keys; w0++)
        {
            if ((hasher.Hash64(w0, W1, W2, W3) & (Keys - 1)) == 0)
            {
                BinaryPrimitives.WriteUInt64LittleEndian(bytes, w0);
                keys[found++] = SessionKey.Read(bytes);
            }
        }
        return keys;
    }

    private sealed class Party : RendezvousParty
    {
        public Party(SessionKey key) => Key = key;

        protected override void OnWaitEnded(in PairOutcome outcome)
        {
        }
    }
}
