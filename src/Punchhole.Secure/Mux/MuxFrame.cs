using System.Buffers.Binary;
using Punchhole.Secure.Records;

namespace Punchhole.Secure.Mux;

/// <summary>The multiplexer's frame types (version 1).</summary>
internal enum FrameType : byte
{
    /// <summary>Opens a stream. Empty payload.</summary>
    Open = 1,

    /// <summary>Stream bytes: 1 .. <see cref="MuxFrame.MaxDataLength"/> of them, within the receiver's window.</summary>
    Data = 2,

    /// <summary>The sender sends nothing more on the stream (half-close). Empty payload.</summary>
    Fin = 3,

    /// <summary>Aborts both directions of the stream. Empty payload.</summary>
    Reset = 4,

    /// <summary>Grants the peer more credit on the stream: u32 big-endian increment, not zero.</summary>
    Window = 5,

    /// <summary>Stream 0, u32 big-endian code: the session ends. Only as the last frame of the final record.</summary>
    GoAway = 6,
}

/// <summary>Why a session ends, as GOAWAY says.</summary>
internal enum GoAwayCode : uint
{
    /// <summary>Every stream finished: a clean end.</summary>
    Done = 0,

    /// <summary>The sender stopped on purpose with streams unfinished (for example it was interrupted).</summary>
    Aborted = 1,
}

/// <summary>
/// One frame inside a record's plaintext: <c>type u8 | stream u32 BE | length u16 BE | payload</c>.
/// A record carries whole frames only, so frames never span records.
/// </summary>
internal readonly ref struct MuxFrame
{
    public const int HeaderLength = 7;
    public const int MaxDataLength = RecordFormat.MaxPlaintextLength - HeaderLength;

    public MuxFrame(FrameType type, uint streamId, ReadOnlySpan<byte> payload)
    {
        Type = type;
        StreamId = streamId;
        Payload = payload;
    }

    public FrameType Type { get; }

    public uint StreamId { get; }

    public ReadOnlySpan<byte> Payload { get; }

    /// <summary>The u32 a WINDOW or GOAWAY frame carries.</summary>
    public uint Value => BinaryPrimitives.ReadUInt32BigEndian(Payload);

    /// <summary>Reads the frame at the start of <paramref name="plaintext"/>; false when the bytes left are not a whole frame.</summary>
    public static bool TryRead(ReadOnlySpan<byte> plaintext, out MuxFrame frame, out int length)
    {
        frame = default;
        length = 0;
        if (plaintext.Length < HeaderLength)
        {
            return false;
        }
        int payloadLength = BinaryPrimitives.ReadUInt16BigEndian(plaintext[5..]);
        if (plaintext.Length < HeaderLength + payloadLength)
        {
            return false;
        }
        frame = new MuxFrame((FrameType)plaintext[0], BinaryPrimitives.ReadUInt32BigEndian(plaintext[1..]), plaintext.Slice(HeaderLength, payloadLength));
        length = HeaderLength + payloadLength;
        return true;
    }

    /// <summary>Writes a frame header for a payload of <paramref name="payloadLength"/> bytes.</summary>
    public static void WriteHeader(Span<byte> destination, FrameType type, uint streamId, int payloadLength)
    {
        destination[0] = (byte)type;
        BinaryPrimitives.WriteUInt32BigEndian(destination[1..], streamId);
        BinaryPrimitives.WriteUInt16BigEndian(destination[5..], checked((ushort)payloadLength));
    }

    /// <summary>Writes a frame whose payload is empty or one u32; returns its length.</summary>
    public static int Write(Span<byte> destination, FrameType type, uint streamId, uint? value = null)
    {
        int payloadLength = value.HasValue ? 4 : 0;
        WriteHeader(destination, type, streamId, payloadLength);
        if (value is uint v)
        {
            BinaryPrimitives.WriteUInt32BigEndian(destination[HeaderLength..], v);
        }
        return HeaderLength + payloadLength;
    }
}
