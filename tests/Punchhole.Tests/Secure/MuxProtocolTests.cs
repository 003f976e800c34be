using System.Net.Sockets;
using System.Security.Cryptography;
using Punchhole.Secure;
using Punchhole.Secure.Handshake;
using Punchhole.Secure.Mux;
using Punchhole.Secure.Records;

namespace Punchhole.Tests.Secure;

/// <summary>
/// A session against a peer that writes frames by hand (it holds the keys, so its records
/// authenticate): the session holds the peer to the framing rules.
/// </summary>
public class MuxProtocolTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [Fact(Timeout = 60_000)]
    public async Task Data_beyond_the_window_is_a_violation()
    {
        await using var peer = await RawPeer.StartAsync();
        var frames = new List<byte[]> { Frame(FrameType.Open, 1) };
        byte[] chunk = new byte[MuxFrame.MaxDataLength];
        for (long sent = 0; sent <= MuxSession.InitialWindow; sent += chunk.Length)
        {
            frames.Add([.. Header(FrameType.Data, 1, chunk.Length), .. chunk]);
        }
        await peer.SendAsync(frames);
        await AssertViolationAsync(peer.Session, "more data on stream 1 than its window allows");
    }

    [Theory(Timeout = 60_000)]
    [InlineData(2, 7u, "a frame for stream 7, which was never opened")]
    [InlineData(5, 9u, "a frame for stream 9, which was never opened")]
    [InlineData(1, 2u, "an invalid opening of stream 2")]
    [InlineData(6, 0u, "GOAWAY anywhere but at the end of the final record")]
    [InlineData(9, 1u, "a malformed frame of type 9")]
    public async Task Frames_that_break_the_rules_fail_the_session(byte typeByte, uint id, string violation)
    {
        var type = (FrameType)typeByte;
        await using var peer = await RawPeer.StartAsync();
        byte[] bad = type is FrameType.Window or FrameType.GoAway ? [.. Header(type, id, 4), 0, 0, 0, 1] : [.. Header(type, id, type == FrameType.Data ? 1 : 0), .. (type == FrameType.Data ? new byte[1] : [])];
        await peer.SendAsync([Frame(FrameType.Open, 1), bad]);
        await AssertViolationAsync(peer.Session, violation);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_final_record_without_GOAWAY_is_a_violation()
    {
        await using var peer = await RawPeer.StartAsync();
        await peer.SendAsync([Frame(FrameType.Open, 1)], final: true);
        await AssertViolationAsync(peer.Session, "a final record without GOAWAY");
    }

    [Fact(Timeout = 60_000)]
    public async Task Streams_beyond_the_limit_are_reset_at_once()
    {
        await using var peer = await RawPeer.StartAsync();
        var opens = Enumerable.Range(0, MuxSession.MaxStreams + 1).Select(i => Frame(FrameType.Open, (uint)(2 * i + 1))).ToList();
        await peer.SendAsync(opens);
        for (int i = 0; i < MuxSession.MaxStreams; i++)
        {
            Assert.NotNull(await peer.Session.AcceptStreamAsync().AsTask().WaitAsync(Wait));
        }
        uint refused = (uint)(2 * MuxSession.MaxStreams + 1);
        var frame = await peer.ReceiveFrameAsync();
        Assert.Equal((FrameType.Reset, refused), frame);
        Assert.False(peer.Session.Completion.IsCompleted);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_clean_end_from_the_peer_ends_the_session_here_without_a_call()
    {
        await using var peer = await RawPeer.StartAsync();
        await peer.SendAsync([Frame(FrameType.Open, 1), Frame(FrameType.Fin, 1)]);
        var stream = (await peer.Session.AcceptStreamAsync().AsTask().WaitAsync(Wait))!;
        Assert.Equal(0, await stream.ReadAsync(new byte[1]));
        stream.CompleteWrites();
        Assert.Equal((FrameType.Fin, 1u), await peer.ReceiveFrameAsync());
        await peer.SendAsync([[.. Header(FrameType.GoAway, 0, 4), 0, 0, 0, 0]], final: true);
        Assert.Null(await peer.Session.AcceptStreamAsync().AsTask().WaitAsync(Wait));
        Assert.Equal((FrameType.GoAway, 0u), await peer.ReceiveFrameAsync());
        await peer.Session.Completion.WaitAsync(Wait);
    }

    [Fact(Timeout = 60_000)]
    public async Task An_empty_record_anywhere_but_first_is_a_violation()
    {
        await using var peer = await RawPeer.StartAsync();
        await peer.SendAsync([Frame(FrameType.Open, 1)]);
        await peer.SendAsync([]);
        await AssertViolationAsync(peer.Session, "an empty record out of place");
    }

    [Fact(Timeout = 60_000)]
    public async Task An_offer_of_AES_GCM_to_a_side_that_does_not_offer_it_is_skipped_but_a_switch_is_a_violation()
    {
        // The session here holds no AES-256-GCM keys, as one that does not offer it (or an older
        // client, which never sends an empty record): the peer's offer changes nothing, and the
        // peer may not switch, since it never got an offer from here.
        await using var peer = await RawPeer.StartAsync();
        await peer.SendAsync([]);
        await peer.SendAsync([Frame(FrameType.Open, 1), Frame(FrameType.Fin, 1)]);
        var stream = (await peer.Session.AcceptStreamAsync().AsTask().WaitAsync(Wait))!;
        Assert.Equal(0, await stream.ReadAsync(new byte[1]));
        await peer.SendAsync([]);
        await AssertViolationAsync(peer.Session, "an empty record out of place");
    }

    private static async Task AssertViolationAsync(MuxSession session, string what)
    {
        var error = await Assert.ThrowsAsync<SecureChannelException>(() => session.Completion.WaitAsync(Wait));
        Assert.Equal(SecureFailure.ProtocolViolation, error.Reason);
        Assert.Equal($"the other side broke the secure protocol: {what}", error.Message);
    }

    private static byte[] Header(FrameType type, uint id, int length)
    {
        byte[] header = new byte[MuxFrame.HeaderLength];
        MuxFrame.WriteHeader(header, type, id, length);
        return header;
    }

    private static byte[] Frame(FrameType type, uint id) => Header(type, id, 0);

    /// <summary>A session (the second party) on one socket; on the other, records written and read by hand.</summary>
    private sealed class RawPeer : IAsyncDisposable
    {
        private readonly LoopbackPair _pair;
        private readonly Punchhole.Secure.Transport _transport;
        private readonly RecordWriter _writer;
        private readonly RecordReader _reader;
        private readonly Queue<(FrameType, uint)> _received = new();

        private RawPeer(LoopbackPair pair)
        {
            _pair = pair;
            byte[] toSession = RandomNumberGenerator.GetBytes(32);
            byte[] fromSession = RandomNumberGenerator.GetBytes(32);
            Session = MuxSession.Start(Punchhole.Secure.Transport.Over(pair.B), new SessionKeys(HandshakeRole.Second, fromSession, toSession));
            _transport = Punchhole.Secure.Transport.Over(new NetworkStream(pair.A, ownsSocket: false));
            _writer = new RecordWriter(_transport.Output, toSession);
            _reader = new RecordReader(_transport.Input, fromSession);
        }

        public MuxSession Session { get; }

        public static async Task<RawPeer> StartAsync() => new(await LoopbackPair.ConnectAsync());

        /// <summary>Sends the frames, as many as fit in each record.</summary>
        public async Task SendAsync(IEnumerable<byte[]> frames, bool final = false)
        {
            var record = new List<byte>();
            foreach (byte[] frame in frames)
            {
                if (record.Count + frame.Length > RecordFormat.MaxPlaintextLength)
                {
                    _writer.Write(record.ToArray());
                    record.Clear();
                }
                record.AddRange(frame);
            }
            _writer.Write(record.ToArray(), final);
            await _writer.FlushAsync();
        }

        /// <summary>The next frame the session sent, skipping WINDOW updates.</summary>
        public async Task<(FrameType Type, uint Id)> ReceiveFrameAsync()
        {
            while (_received.Count == 0)
            {
                var record = await _reader.ReadAsync().AsTask().WaitAsync(Wait);
                var plaintext = record.Plaintext.ToArray().AsMemory();
                while (!plaintext.IsEmpty)
                {
                    Assert.True(MuxFrame.TryRead(plaintext.Span, out var frame, out int length));
                    if (frame.Type != FrameType.Window)
                    {
                        _received.Enqueue((frame.Type, frame.StreamId));
                    }
                    plaintext = plaintext[length..];
                }
            }
            return _received.Dequeue();
        }

        public async ValueTask DisposeAsync()
        {
            await Session.DisposeAsync();
            _writer.Dispose();
            _reader.Dispose();
            await _transport.DisposeAsync();
            _pair.Dispose();
        }
    }
}
