using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Punchhole.Protocol;

// Usage: punchhole-hold ADDRESS PORT COUNT [SEND_BYTES] [FIRST_SOURCE] [SOURCES]
//   Opens COUNT connections to ADDRESS:PORT, from 127.0.0.FIRST_SOURCE .. +SOURCES-1 in turn when
//   ADDRESS is IPv4 loopback, and sends SEND_BYTES (default 0) bytes on each. Prints
//   "connected=N failed=M" when every attempt has ended, then holds them all until standard input
//   ends, closes them (FIN), prints "closed_by_server=K" (those the server had ended meanwhile) and exits.
if (args.Length < 3)
{
    Console.Error.WriteLine("usage: punchhole-hold ADDRESS PORT COUNT [SEND_BYTES] [FIRST_SOURCE] [SOURCES]");
    return 2;
}
var server = new IPEndPoint(IPAddress.Parse(args[0]), int.Parse(args[1], CultureInfo.InvariantCulture));
int count = int.Parse(args[2], CultureInfo.InvariantCulture);
int sendBytes = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 0;
int firstSource = args.Length > 4 ? int.Parse(args[4], CultureInfo.InvariantCulture) : 1;
int sources = args.Length > 5 ? int.Parse(args[5], CultureInfo.InvariantCulture) : 1;
bool spread = IPAddress.IsLoopback(server.Address) && server.AddressFamily == AddressFamily.InterNetwork;

OpenFileLimit.RaiseToHardLimit();
var sockets = new Socket?[count];
int failed = 0;
using (var gate = new SemaphoreSlim(256))
{
    await Task.WhenAll(Enumerable.Range(0, count).Select(async i =>
    {
        await gate.WaitAsync();
        var socket = new Socket(server.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (spread)
            {
                socket.Bind(new IPEndPoint(new IPAddress([127, 0, 0, (byte)(firstSource + i % sources)]), 0));
            }
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            await socket.ConnectAsync(server, timeout.Token);
            if (sendBytes > 0)
            {
                await socket.SendAsync(new byte[sendBytes], SocketFlags.None, timeout.Token);
            }
            sockets[i] = socket;
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            socket.Dispose();
            Interlocked.Increment(ref failed);
        }
        finally
        {
            gate.Release();
        }
    }));
}
Console.Out.WriteLine($"connected={count - failed} failed={failed}");
Console.Out.Flush();

await Console.In.ReadToEndAsync();

int closedByServer = 0;
foreach (var socket in sockets)
{
    if (socket is null)
    {
        continue;
    }
    try
    {
        // Readable with nothing to read: EOF or a reset from the server.
        if (socket.Poll(0, SelectMode.SelectRead) && socket.Available == 0)
        {
            closedByServer++;
        }
    }
    catch (SocketException)
    {
        closedByServer++;
    }
    socket.Dispose();
}
Console.Out.WriteLine($"closed_by_server={closedByServer}");
return 0;
