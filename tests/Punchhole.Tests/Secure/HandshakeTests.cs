using System.Diagnostics;
using System.Net.Sockets;
using Punchhole.Secure;
using Punchhole.Secure.Codes;
using Punchhole.Secure.Handshake;

namespace Punchhole.Tests.Secure;

/// <summary>The v1 handshake over real loopback sockets, with honest peers, a wrong code and men in the middle.</summary>
public class HandshakeTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private static readonly SecretCode Code = SecretCode.FromCode(PairingCode.Parse("482913-tonul-kemar-osku"));

    [Fact(Timeout = 30_000)]
    public async Task The_same_code_gives_both_sides_matching_keys_one_per_direction()
    {
        using var pair = await LoopbackPair.ConnectAsync();
        var (a, b) = await BothAsync(pair.A, Code, pair.B, Code);
        using var keysA = await a;
        using var keysB = await b;
        Assert.NotEqual(keysA.Role, keysB.Role);
        Assert.Equal(keysA.SendKey.ToArray(), keysB.ReceiveKey.ToArray());
        Assert.Equal(keysB.SendKey.ToArray(), keysA.ReceiveKey.ToArray());
        Assert.NotEqual(keysA.SendKey.ToArray(), keysA.ReceiveKey.ToArray());
    }

    [Fact(Timeout = 30_000)]
    public async Task Each_run_derives_fresh_keys_from_the_same_code()
    {
        using var first = await LoopbackPair.ConnectAsync();
        using var second = await LoopbackPair.ConnectAsync();
        var (a1, _) = await BothAsync(first.A, Code, first.B, Code);
        var (a2, _) = await BothAsync(second.A, Code, second.B, Code);
        using var keys1 = await a1;
        using var keys2 = await a2;
        Assert.NotEqual(keys1.SendKey.ToArray(), keys2.SendKey.ToArray());
    }

    [Fact(Timeout = 30_000)]
    public async Task A_wrong_code_fails_both_sides_within_two_seconds_and_nothing_but_the_handshake_is_sent()
    {
        var wrong = SecretCode.FromCode(PairingCode.Parse("482913-tonul-kemar-gamo"));
        await using var relay = await Relay.StartAsync();
        var clock = Stopwatch.StartNew();
        var sessionA = SecureSession.EstablishAsync(relay.Left, Code);
        var sessionB = SecureSession.EstablishAsync(relay.Right, wrong);
        var errorA = await Assert.ThrowsAsync<AuthenticationFailedException>(() => sessionA);
        var errorB = await Assert.ThrowsAsync<AuthenticationFailedException>(() => sessionB);
        Assert.InRange(clock.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(2));
        Assert.Equal("authentication failed: the other side does not know the code, or someone is in between; nothing was sent", errorA.Message);
        Assert.Equal(errorA.Message, errorB.Message);
        await WaitForAsync(() => relay.FromLeft == Relay.HandshakeBytes && relay.FromRight == Relay.HandshakeBytes);
        await Task.Delay(200);
        Assert.Equal(Relay.HandshakeBytes, relay.FromLeft);
        Assert.Equal(Relay.HandshakeBytes, relay.FromRight);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_man_in_the_middle_running_its_own_handshakes_without_the_code_fails_on_both_sides()
    {
        using var left = await LoopbackPair.ConnectAsync();
        using var right = await LoopbackPair.ConnectAsync();
        // The attacker knows the nameplate (it is public) and guesses the words.
        var guess = SecretCode.FromCode(PairingCode.Parse("482913-aban-abel-abir"));
        var clock = Stopwatch.StartNew();
        var (victimA, attackerA) = await BothAsync(left.A, Code, left.B, guess);
        var (victimB, attackerB) = await BothAsync(right.A, Code, right.B, guess);
        await Assert.ThrowsAsync<AuthenticationFailedException>(() => victimA);
        await Assert.ThrowsAsync<AuthenticationFailedException>(() => victimB);
        await Assert.ThrowsAsync<AuthenticationFailedException>(() => attackerA);
        await Assert.ThrowsAsync<AuthenticationFailedException>(() => attackerB);
        Assert.InRange(clock.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(2));
    }

    [Fact(Timeout = 30_000)]
    public async Task A_relay_passing_the_handshake_through_unchanged_lets_it_succeed()
    {
        await using var relay = await Relay.StartAsync();
        var (a, b) = await BothAsync(relay.Left, Code, relay.Right, Code);
        using var keysA = await a;
        using var keysB = await b;
        Assert.Equal(keysA.SendKey.ToArray(), keysB.ReceiveKey.ToArray());
    }

    [Fact(Timeout = 30_000)]
    public async Task A_relay_that_alters_one_byte_of_a_hello_fails_both_sides()
    {
        using var left = await LoopbackPair.ConnectAsync();
        using var right = await LoopbackPair.ConnectAsync();
        var forward = ForwardAsync(left.B, right.A, flipAt: SecureHandshake.PrefixLength + 5);
        var backward = ForwardAsync(right.A, left.B, flipAt: -1);
        var a = SecureSession.EstablishAsync(left.A, Code);
        var b = SecureSession.EstablishAsync(right.B, Code);
        await Assert.ThrowsAsync<AuthenticationFailedException>(() => a);
        await Assert.ThrowsAsync<AuthenticationFailedException>(() => b);
        left.Dispose();
        right.Dispose();
        await Task.WhenAll(forward, backward);
    }

    [Theory(Timeout = 30_000)]
    [InlineData("identity")]
    [InlineData("invalid")]
    [InlineData("reflected")]
    public async Task A_peer_sending_the_identity_an_invalid_element_or_our_own_share_fails_authentication(string kind)
    {
        using var pair = await LoopbackPair.ConnectAsync();
        var honest = SecureSession.EstablishAsync(pair.A, Code);
        byte[] theirs = new byte[SecureHandshake.HelloLength];
        await ReceiveExactlyAsync(pair.B, theirs);
        byte[] hello = kind switch
        {
            "identity" => [.. SecureHandshake.Prefix, .. new byte[32]],
            "invalid" => [.. SecureHandshake.Prefix, .. Convert.FromHexString("2b3c6b8c4f3800e7aef6864025b4ed79bd599117e427c41bd47d93d654b4a51c")],
            _ => theirs,
        };
        await pair.B.SendAsync(hello);
        await Assert.ThrowsAsync<AuthenticationFailedException>(() => honest);
        // Nothing after the hello, then the close: the failure comes before any confirmation.
        pair.B.ReceiveTimeout = 5000;
        Assert.Equal(0, pair.B.Receive(new byte[100]));
    }

    [Fact(Timeout = 30_000)]
    public async Task A_peer_that_is_not_in_secure_mode_is_named_as_such()
    {
        using var pair = await LoopbackPair.ConnectAsync();
        var honest = RunAsync(pair.A, Code);
        await pair.B.SendAsync("hello there\n"u8.ToArray());
        var error = await Assert.ThrowsAsync<SecureChannelException>(() => honest);
        Assert.Equal(SecureFailure.NotSecurePeer, error.Reason);
        Assert.Contains("--plain", error.Message, StringComparison.Ordinal);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_peer_speaking_another_version_is_named_as_such()
    {
        using var pair = await LoopbackPair.ConnectAsync();
        var honest = RunAsync(pair.A, Code);
        await pair.B.SendAsync("PHS\u0002"u8.ToArray().Concat(new byte[32]).ToArray());
        var error = await Assert.ThrowsAsync<SecureChannelException>(() => honest);
        Assert.Equal(SecureFailure.VersionMismatch, error.Reason);
        Assert.Equal("the other side speaks version 2 of the secure protocol; this punchhole speaks version 1", error.Message);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_silent_peer_times_the_handshake_out()
    {
        using var pair = await LoopbackPair.ConnectAsync();
        var clock = Stopwatch.StartNew();
        var error = await Assert.ThrowsAsync<SecureChannelException>(() =>
            SecureSession.EstablishAsync(Punchhole.Secure.Transport.Over(new NetworkStream(pair.A)), Code, TimeSpan.FromMilliseconds(500), CancellationToken.None));
        Assert.Equal(SecureFailure.HandshakeTimedOut, error.Reason);
        Assert.InRange(clock.Elapsed, TimeSpan.FromMilliseconds(450), TimeSpan.FromSeconds(5));
    }

    [Fact(Timeout = 30_000)]
    public async Task A_peer_closing_before_its_hello_is_an_early_close()
    {
        using var pair = await LoopbackPair.ConnectAsync();
        var honest = RunAsync(pair.A, Code);
        pair.B.Shutdown(SocketShutdown.Send);
        var error = await Assert.ThrowsAsync<SecureChannelException>(() => honest);
        Assert.Equal(SecureFailure.ClosedDuringHandshake, error.Reason);
    }

    private static async Task<SessionKeys> RunAsync(Socket socket, SecretCode code)
    {
        await using var transport = Punchhole.Secure.Transport.Over(new NetworkStream(socket, ownsSocket: false));
        return await SecureHandshake.RunAsync(transport.Input, transport.Output, code.Password, code.ChannelId, Timeout, CancellationToken.None);
    }

    /// <summary>Starts both handshakes at once, as a simultaneous open does.</summary>
    private static Task<(Task<SessionKeys>, Task<SessionKeys>)> BothAsync(Socket a, SecretCode codeA, Socket b, SecretCode codeB)
    {
        var first = Task.Run(() => RunAsync(a, codeA));
        var second = Task.Run(() => RunAsync(b, codeB));
        return Task.FromResult((first, second));
    }

    private static async Task ForwardAsync(Socket from, Socket to, int flipAt)
    {
        var buffer = new byte[4096];
        long position = 0;
        try
        {
            int n;
            while ((n = await from.ReceiveAsync(buffer)) > 0)
            {
                if (flipAt >= position && flipAt < position + n)
                {
                    buffer[flipAt - position] ^= 0x01;
                }
                position += n;
                await to.SendAsync(buffer.AsMemory(0, n));
            }
            to.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }
    }

    private static async Task ReceiveExactlyAsync(Socket socket, byte[] buffer)
    {
        int done = 0;
        while (done < buffer.Length)
        {
            int n = await socket.ReceiveAsync(buffer.AsMemory(done));
            Assert.True(n > 0, "the connection closed early");
            done += n;
        }
    }

    private static async Task WaitForAsync(Func<bool> condition)
    {
        var deadline = Stopwatch.StartNew();
        while (!condition() && deadline.Elapsed < TimeSpan.FromSeconds(5))
        {
            await Task.Delay(20);
        }
    }
}
