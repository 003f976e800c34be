using System.Buffers;
using System.Text;
using Punchhole.Secure;
using Punchhole.Secure.Handshake;
using Punchhole.Secure.Sodium;

namespace Punchhole.Tests.Secure;

/// <summary>CPace against the published vectors of draft-irtf-cfrg-cpace, appendices A and B.3 (ristretto255, SHA-512).</summary>
public class CPaceTests
{
    private static readonly byte[] Prs = "Password"u8.ToArray();
    private static readonly byte[] Ci = Convert.FromHexString("0b415f696e69746961746f720b425f726573706f6e646572");
    private static readonly byte[] Sid = Convert.FromHexString("7e4b4791d6a8ef019b936c79fb7f2c57");
    private static readonly byte[] Ya = Convert.FromHexString("d6bac480f2c386c394efc7c47adb9925dcd2630b64f240c50f8d0eec482b9157");
    private static readonly byte[] Yb = Convert.FromHexString("3ea7e0b19560d7c0b0f5734f63b955286dfa8232b5ebe63324e2d9e7433f7258");
    private static readonly byte[] ScalarA = Convert.FromHexString("da3d23700a9e5699258aef94dc060dfda5ebb61f02a5ea77fad53f4ff0976d08");
    private static readonly byte[] ScalarB = Convert.FromHexString("d2316b454718c35362d83d69df6320f38578ed5984651435e2949762d900b80d");
    private static readonly byte[] K = Convert.FromHexString("80b69a8a76457ab6a4d7f887a4bf6b55a2f80ac19c333f917a05fc9887c8b40f");

    [Fact]
    public void String_utilities_match_appendix_A()
    {
        Assert.Equal("0431323334", Hex(w => LengthValue.Append(w, "1234"u8)));
        Assert.Equal("00", Hex(w => LengthValue.Append(w, [])));
        byte[] range127 = Enumerable.Range(0, 127).Select(i => (byte)i).ToArray();
        byte[] range128 = Enumerable.Range(0, 128).Select(i => (byte)i).ToArray();
        Assert.StartsWith("7f0001", Hex(w => LengthValue.Append(w, range127)), StringComparison.Ordinal);
        Assert.StartsWith("80010001", Hex(w => LengthValue.Append(w, range128)), StringComparison.Ordinal);
        Assert.Equal("043132333401350003363738", Hex(w =>
        {
            LengthValue.Append(w, "1234"u8);
            LengthValue.Append(w, "5"u8);
            LengthValue.Append(w, ""u8);
            LengthValue.Append(w, "678"u8);
        }));
        Assert.Equal("6f6342434441424344", Hex(w => LengthValue.AppendOrdered(w, "ABCD"u8, "BCD"u8)));
        Assert.Equal("6f634243444142434445", Hex(w => LengthValue.AppendOrdered(w, "BCD"u8, "ABCDE"u8)));
        Assert.False(LengthValue.LexicographicallyLarger("\0"u8, "\0\0"u8));
        Assert.True(LengthValue.LexicographicallyLarger("\u0001"u8, "\0\0"u8));
        Assert.True(LengthValue.LexicographicallyLarger("\0\0"u8, "\0"u8));
        Assert.False(LengthValue.LexicographicallyLarger("\0\u0001"u8, "\u0001"u8));
        Assert.Equal("03313233065061727479410332333406506172747942",
            Convert.ToHexStringLower(CPace.InitiatorResponderTranscript("123"u8, "PartyA"u8, "234"u8, "PartyB"u8)));
        Assert.Equal("6f6303323334065061727479420331323306506172747941",
            Convert.ToHexStringLower(CPace.OrderedTranscript("123"u8, "PartyA"u8, "234"u8, "PartyB"u8)));
        Assert.Equal("6f63043334353606506172747941043233343506506172747942",
            Convert.ToHexStringLower(CPace.OrderedTranscript("3456"u8, "PartyA"u8, "2345"u8, "PartyB"u8)));
    }

    [Fact]
    public void The_generator_matches_B_3_1()
    {
        byte[] text = CPace.GeneratorString(Prs, Ci, Sid);
        string expected = "11435061636552697374726574746f323535" + "0850617373776f7264" + "64" + new string('0', 200)
            + "18" + Convert.ToHexStringLower(Ci) + "10" + Convert.ToHexStringLower(Sid);
        Assert.Equal(170, text.Length);
        Assert.Equal(expected, Convert.ToHexStringLower(text));

        var hash = new byte[64];
        Sha512.Hash(text, hash);
        Assert.Equal("da6d3ddc8802fca9058755ffd3ebde08a9c2c74945901a258482a288b6663af06bf645c93cd1c51512307199c80e84908916d983b34af77205f90851a657ee27",
            Convert.ToHexStringLower(hash));

        var g = new byte[32];
        CPace.CalculateGenerator(Prs, Ci, Sid, g);
        Assert.Equal("222b6b195fe84b1652badb6f6a3ae3d24341e7306967f0b8115b40d5698c7e56", Convert.ToHexStringLower(g));
    }

    [Fact]
    public void Shares_secret_point_and_both_ISKs_match_B_3_2_to_B_3_7()
    {
        var g = new byte[32];
        CPace.CalculateGenerator(Prs, Ci, Sid, g);
        var ya = new byte[32];
        var yb = new byte[32];
        Assert.True(CPace.TryPublicShare(ScalarA, g, ya));
        Assert.True(CPace.TryPublicShare(ScalarB, g, yb));
        Assert.Equal(Ya, ya);
        Assert.Equal(Yb, yb);

        var ka = new byte[32];
        var kb = new byte[32];
        Assert.True(CPace.TrySharedPoint(ScalarA, Yb, ka));
        Assert.True(CPace.TrySharedPoint(ScalarB, Ya, kb));
        Assert.Equal(K, ka);
        Assert.Equal(K, kb);

        var isk = new byte[64];
        CPace.IntermediateSessionKey(Sid, K, CPace.InitiatorResponderTranscript(Ya, "ADa"u8, Yb, "ADb"u8), isk);
        Assert.Equal("b69effbf61b51d56401c0f65601abe428de8206feaaf0e32198896dcae7b35cd2b38950a39dfd5d4a79164614c2984f7daa460b588c1e80c3fa2068af7900447",
            Convert.ToHexStringLower(isk));

        byte[] ordered = CPace.OrderedTranscript(Ya, "ADa"u8, Yb, "ADb"u8);
        Assert.Equal("6f6320d6bac480f2c386c394efc7c47adb9925dcd2630b64f240c50f8d0eec482b915703414461203ea7e0b19560d7c0b0f5734f63b955286dfa8232b5ebe63324e2d9e7433f725803414462",
            Convert.ToHexStringLower(ordered));
        CPace.IntermediateSessionKey(Sid, K, ordered, isk);
        Assert.Equal("544199d71f62f8d9a1fee55727e24fe4a45844593c2b6013c4fa3969d0e5debb2244675c0b43397cbb68d342b01fc0f98fc961469a25134de9f0f813c1a57476",
            Convert.ToHexStringLower(isk));
        // The ordered transcript is the same whichever side builds it.
        Assert.Equal(ordered, CPace.OrderedTranscript(Yb, "ADb"u8, Ya, "ADa"u8));

        var sidOutput = new byte[64];
        Sha512.Hash([.. "CPaceSidOutput"u8, .. ordered], sidOutput);
        Assert.Equal("10d5941d4933497fe31b9188d690b84465e2a2d158332a7267284a071a8d0876fc5c8c329dc735d59a9f8ef6623ee23924704a2f929dd631ca981227ee82fff2",
            Convert.ToHexStringLower(sidOutput));
    }

    [Fact]
    public void Scalar_multiplication_matches_B_3_10_and_rejects_the_invalid_inputs_of_B_3_11()
    {
        byte[] s = Convert.FromHexString("7cd0e075fa7955ba52c02759a6c90dbbfc10e6d40aea8d283e407d88cf538a05");
        byte[] x = Convert.FromHexString("2c3c6b8c4f3800e7aef6864025b4ed79bd599117e427c41bd47d93d654b4a51c");
        var result = new byte[32];
        Assert.True(CPace.TrySharedPoint(s, x, result));
        Assert.Equal("7c13645fe790a468f62c39beb7388e541d8405d1ade69d1778c5fe3e7f6b600e", Convert.ToHexStringLower(result));

        byte[] notOnTheGroup = Convert.FromHexString("2b3c6b8c4f3800e7aef6864025b4ed79bd599117e427c41bd47d93d654b4a51c");
        Assert.False(CPace.TrySharedPoint(s, notOnTheGroup, result));
        Assert.Equal(new byte[32], result);
        Assert.False(CPace.TrySharedPoint(s, new byte[32], result));
        Assert.Equal(new byte[32], result);
    }

    [Fact]
    public void A_hello_carrying_the_identity_or_an_invalid_element_fails_authentication()
    {
        using var party = SecureHandshake.Party.Start("words"u8, new byte[32]);
        foreach (byte[] share in new[] { new byte[32], Convert.FromHexString("2b3c6b8c4f3800e7aef6864025b4ed79bd599117e427c41bd47d93d654b4a51c") })
        {
            byte[] hello = [.. SecureHandshake.Prefix, .. share];
            Assert.Throws<AuthenticationFailedException>(() => party.ReceiveHello(hello));
        }
    }

    [Fact]
    public void A_side_given_back_its_own_hello_fails_authentication()
    {
        using var party = SecureHandshake.Party.Start("words"u8, new byte[32]);
        Assert.Throws<AuthenticationFailedException>(() => party.ReceiveHello(party.Hello));
    }

    [Fact]
    public void The_same_password_and_channel_give_both_sides_the_same_keys_in_opposite_directions()
    {
        byte[] channel = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray();
        using var a = SecureHandshake.Party.Start("tonul-bemar-osk"u8, channel);
        using var b = SecureHandshake.Party.Start("tonul-bemar-osk"u8, channel);
        a.ReceiveHello(b.Hello);
        b.ReceiveHello(a.Hello);
        Assert.NotEqual(a.Role, b.Role);
        Assert.NotEqual(a.Confirmation, b.Confirmation);
        using var keysA = a.Finish(b.Confirmation);
        using var keysB = b.Finish(a.Confirmation);
        Assert.Equal(keysA.SendKey.ToArray(), keysB.ReceiveKey.ToArray());
        Assert.Equal(keysA.ReceiveKey.ToArray(), keysB.SendKey.ToArray());
        Assert.NotEqual(keysA.SendKey.ToArray(), keysA.ReceiveKey.ToArray());
    }

    [Theory]
    [InlineData("tonul-bemar-osk", "tonul-bemar-osko", false)]
    [InlineData("tonul-bemar-osk", "tonul-bemar-osk", true)]
    public void A_different_password_or_channel_fails_both_confirmations(string passwordA, string passwordB, bool sameWordsOtherChannel)
    {
        byte[] channelA = new byte[32];
        byte[] channelB = new byte[32];
        if (sameWordsOtherChannel)
        {
            channelB[31] = 1;
        }
        using var a = SecureHandshake.Party.Start(Encoding.ASCII.GetBytes(passwordA), channelA);
        using var b = SecureHandshake.Party.Start(Encoding.ASCII.GetBytes(passwordB), channelB);
        a.ReceiveHello(b.Hello);
        b.ReceiveHello(a.Hello);
        Assert.Throws<AuthenticationFailedException>(() => a.Finish(b.Confirmation));
        Assert.Throws<AuthenticationFailedException>(() => b.Finish(a.Confirmation));
    }

    [Fact]
    public void A_confirmation_is_not_accepted_back_by_its_sender()
    {
        byte[] channel = new byte[32];
        using var a = SecureHandshake.Party.Start("x"u8, channel);
        using var b = SecureHandshake.Party.Start("x"u8, channel);
        a.ReceiveHello(b.Hello);
        b.ReceiveHello(a.Hello);
        // The two roles use different confirmation keys: a reflected tag does not verify.
        Assert.Throws<AuthenticationFailedException>(() => a.Finish(a.Confirmation));
    }

    private static string Hex(Action<ArrayBufferWriter<byte>> write)
    {
        var writer = new ArrayBufferWriter<byte>();
        write(writer);
        return Convert.ToHexStringLower(writer.WrittenSpan);
    }
}
