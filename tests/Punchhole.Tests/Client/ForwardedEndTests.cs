using System.Net;
using System.Net.Sockets;
using System.Text;
using Punchhole.Tests.Support;

namespace Punchhole.Tests.Client;

/// <summary>
/// A service that answers and closes at once (HTTP/1.0, Connection: close) through -L/-R: the
/// local client must find the end of the connection already there when the last byte of the
/// answer arrives, as it would from the service itself. An HTTP client that reads a complete
/// response and finds no end yet may send its next request on that connection; by the time the
/// end comes through the tunnel, the request is lost (HttpClient: "the response ended
/// prematurely").
/// </summary>
public class ForwardedEndTests
{
    private const string Code = "482913-aban-abel-abir";
    private const int AnswerLength = 150_001;
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [Fact(Timeout = 120_000)]
    public async Task A_service_that_answers_and_closes_at_once_ends_the_local_connection_together_with_the_answer_secure()
    {
        using var service = AnswerAndCloseService.Start();
        using var server = new ServerHost();
        string[] at = ClientProgram.Server(server.EndPoint().Port);
        using var remote = ClientProgram.Start([.. at, "-R", $"127.0.0.1:{service.Port}", Code]);
        using var local = ClientProgram.Start([.. at, "-L", "0", Code]);
        int port = ExitStatusTests.ListeningPort(await local.WaitForLineAsync("listening on 127.0.0.1:", Wait));
        await local.WaitForLineAsync("authenticated", Wait);

        var late = new List<int>();
        for (int round = 0; round < 20; round++)
        {
            if (!await AnswerEndsWithItAsync(port))
            {
                late.Add(round);
            }
        }
        Assert.True(late.Count == 0, $"the end came after the answer in rounds {string.Join(", ", late)} of 20");
        Assert.Equal(20, service.Answered);
        // No forwarded connection failed on either side (each failure is a "stream N: ..." line).
        Assert.DoesNotContain(remote.Lines, l => l.StartsWith("punchhole: stream ", StringComparison.Ordinal));
        Assert.DoesNotContain(local.Lines, l => l.StartsWith("punchhole: stream ", StringComparison.Ordinal));
        Assert.False(remote.HasExited || local.HasExited, string.Join('\n', [.. remote.Lines, .. local.Lines]));
    }

    [Fact(Timeout = 120_000)]
    public async Task A_service_that_answers_and_closes_at_once_ends_the_local_connection_together_with_the_answer_plain()
    {
        using var service = AnswerAndCloseService.Start();
        using var server = new ServerHost();
        string[] at = ClientProgram.Server(server.EndPoint().Port);
        // Plain mode carries one connection per run: a pair per round.
        for (int round = 0; round < 3; round++)
        {
            string key = $"answer-and-close-{round}-{Guid.NewGuid():N}";
            using var remote = ClientProgram.Start([.. at, "--plain", "-R", $"127.0.0.1:{service.Port}", key]);
            using var local = ClientProgram.Start([.. at, "--plain", "-L", "0", key]);
            int port = ExitStatusTests.ListeningPort(await local.WaitForLineAsync("listening on 127.0.0.1:", Wait));
            await local.WaitForLineAsync("connected", Wait);
            Assert.True(await AnswerEndsWithItAsync(port), $"round {round}: the end came after the answer");
            Assert.Equal(0, await local.WaitForExitAsync(Wait));
            Assert.Equal(0, await remote.WaitForExitAsync(Wait));
        }
    }

    /// <summary>
    /// Asks once through -L and reads the whole answer; true when the end of the connection had
    /// arrived with its last byte: readable at once, with nothing to read.
    /// </summary>
    private static async Task<bool> AnswerEndsWithItAsync(int port)
    {
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        using var timeout = new CancellationTokenSource(Wait);
        await client.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), timeout.Token);
        await client.SendAsync("GET / HTTP/1.0\r\n\r\n"u8.ToArray(), SocketFlags.None, timeout.Token);
        byte[] buffer = new byte[64 * 1024];
        long received = 0;
        while (received < AnswerLength)
        {
            int n = await client.ReceiveAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, AnswerLength - received)), SocketFlags.None, timeout.Token);
            Assert.True(n > 0, $"the answer ended after {received} of {AnswerLength} bytes");
            received += n;
        }
        bool endThere = client.Available == 0 && client.Poll(0, SelectMode.SelectRead);
        Assert.Equal(0, await client.ReceiveAsync(buffer, SocketFlags.None, timeout.Token));
        return endThere;
    }

    /// <summary>
    /// Reads a request up to its blank line, then sends an answer and its FIN in one go (TCP_CORK
    /// until the shutdown), and closes, as an HTTP/1.0 server does.
    /// </summary>
    private sealed class AnswerAndCloseService : IDisposable
    {
        private readonly Socket _listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        private readonly byte[] _answer = Encoding.ASCII.GetBytes(new string('a', AnswerLength));
        private int _answered;

        private AnswerAndCloseService()
        {
            _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            _listener.Listen();
            _ = ServeAsync();
        }

        public int Port => ((IPEndPoint)_listener.LocalEndPoint!).Port;

        public int Answered => Volatile.Read(ref _answered);

        public static AnswerAndCloseService Start() => new();

        private async Task ServeAsync()
        {
            try
            {
                while (true)
                {
                    var client = await _listener.AcceptAsync();
                    _ = AnswerAsync(client);
                }
            }
            catch (Exception e) when (e is ObjectDisposedException or SocketException)
            {
            }
        }

        private async Task AnswerAsync(Socket client)
        {
            using (client)
            {
                try
                {
                    var request = new List<byte>();
                    byte[] buffer = new byte[1024];
                    while (!Encoding.ASCII.GetString([.. request]).Contains("\r\n\r\n", StringComparison.Ordinal))
                    {
                        int n = await client.ReceiveAsync(buffer, SocketFlags.None);
                        if (n == 0)
                        {
                            return;
                        }
                        request.AddRange(buffer.AsSpan(0, n));
                    }
                    client.SetRawSocketOption(6, 3, BitConverter.GetBytes(1));
                    await client.SendAsync(_answer, SocketFlags.None);
                    client.Shutdown(SocketShutdown.Send);
                    Interlocked.Increment(ref _answered);
                }
                catch (SocketException)
                {
                }
            }
        }

        public void Dispose() => _listener.Dispose();
    }
}
