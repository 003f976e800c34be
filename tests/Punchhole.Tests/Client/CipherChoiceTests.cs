using System.Diagnostics;
using Punchhole.Secure.Records;
using Punchhole.Secure.Sodium;
using Punchhole.Tests.Support;

namespace Punchhole.Tests.Client;

/// <summary>
/// Which cipher two client processes seal their records with: AES-256-GCM when both can and
/// neither is told not to (PUNCHHOLE_NO_AESGCM=1), otherwise ChaCha20-Poly1305, both ways.
/// </summary>
public class CipherChoiceTests
{
    private const string Code = "482913-aban-abel-abir";
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [Theory(Timeout = 90_000)]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Both_sides_use_AES_GCM_when_both_can_and_ChaCha20_Poly1305_when_one_keeps_to_it(bool receiverKeepsChaCha)
    {
        using var server = new ServerHost();
        var receiverStart = new ProcessStartInfo(ClientProgram.Executable);
        foreach (string arg in (string[])[.. ClientProgram.Server(server.EndPoint().Port), "-v", "-r", Code])
        {
            receiverStart.ArgumentList.Add(arg);
        }
        if (receiverKeepsChaCha)
        {
            receiverStart.Environment[CipherPreference.DisableVariable] = "1";
        }
        using var receiver = ChildProcess.Start(receiverStart);
        using var sender = ClientProgram.Start([.. ClientProgram.Server(server.EndPoint().Port), "-v", "-s", Code]);
        byte[] data = StreamCheck.RandomBytes(4 * 1024 * 1024);
        var output = new MemoryStream();
        var reading = receiver.Output.CopyToAsync(output);
        await sender.Input.WriteAsync(data);
        sender.Input.Close();
        Assert.True(0 == await sender.WaitForExitAsync(Wait), string.Join('\n', sender.Lines));
        Assert.True(0 == await receiver.WaitForExitAsync(Wait), string.Join('\n', receiver.Lines));
        await reading.WaitAsync(Wait);
        Assert.Equal(StreamCheck.Digest(data), StreamCheck.Digest(output.ToArray()));
        string cipher = Aes256Gcm.IsAvailable && !receiverKeepsChaCha ? "AES-256-GCM" : "ChaCha20-Poly1305";
        foreach (var client in new[] { sender, receiver })
        {
            Assert.Contains($"punchhole: records sent with {cipher}, received with {cipher}", client.Lines);
            ClientProgram.AssertReadable(client);
        }
    }
}
