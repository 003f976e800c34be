using Punchhole.Secure.Handshake;
using Punchhole.Secure.Sodium;

namespace Punchhole.Secure.Records;

/// <summary>
/// The move of each direction from ChaCha20-Poly1305 to AES-256-GCM when both sides offer it,
/// signalled by empty records (no frames at all: earlier clients never send one and skip one):
/// <list type="bullet">
/// <item><b>offer</b>: an empty record as the direction's very first record, "I can open AES-256-GCM";</item>
/// <item><b>switch</b>: a second empty record, sent once the peer's offer arrived and only by a side
/// that offered too, "my records after this one are AES-256-GCM".</item>
/// </list>
/// The signals are records like any other, sealed, counted and authenticated under the keys only
/// the two parties hold: nobody in between can add, drop or move one without the next record
/// failing authentication. So a downgrade by stripping an offer is not possible, only a broken
/// connection. The AES keys come from the handshake's own labels (<see cref="KeySchedule.AesTrafficKey"/>).
/// </summary>
internal sealed class CipherNegotiation : IDisposable
{
    private readonly byte[]? _sendKey;
    private readonly byte[]? _receiveKey;

    // The reader loop's, only.
    private bool _sawRecord;
    private int _signals;

    public CipherNegotiation(SessionKeys keys)
    {
        if (keys.OffersAesGcm)
        {
            _sendKey = keys.AesSendKey.ToArray();
            _receiveKey = keys.AesReceiveKey.ToArray();
        }
    }

    /// <summary>True when this side offers AES-256-GCM.</summary>
    public bool Offers => _sendKey is not null;

    /// <summary>The writer's first act: the offer, when this side makes one. Returns the bytes written.</summary>
    public int WriteOffer(RecordWriter writer) => Offers ? writer.Write([]) : 0;

    /// <summary>
    /// The reader's check of every record it opened, before the frames are read. True when the
    /// record was a signal (it carries no frames); <paramref name="sendSwitch"/> then says that the
    /// peer offered and so did we: the writer must now send its switch.
    /// </summary>
    /// <exception cref="SecureChannelException">An empty record where no signal may be.</exception>
    public bool OnRecord(in Record record, RecordReader reader, out bool sendSwitch)
    {
        sendSwitch = false;
        if (!record.Plaintext.IsEmpty || record.Final)
        {
            _sawRecord = true;
            return false;
        }
        _signals++;
        if (_signals == 1 && !_sawRecord)
        {
            _sawRecord = true;
            sendSwitch = Offers;
            return true;
        }
        if (_signals == 2 && Offers)
        {
            reader.Switch(CipherSuite.Aes256Gcm, _receiveKey);
            Secret.Wipe(_receiveKey);
            return true;
        }
        throw SecureChannelException.Violation("an empty record out of place");
    }

    /// <summary>The writer's switch: the signal, still under ChaCha20-Poly1305, then AES-256-GCM. Returns the bytes written.</summary>
    public int WriteSwitch(RecordWriter writer)
    {
        if (!Offers)
        {
            throw new InvalidOperationException("This side did not offer AES-256-GCM.");
        }
        int written = writer.Write([]);
        writer.Switch(CipherSuite.Aes256Gcm, _sendKey);
        Secret.Wipe(_sendKey);
        return written;
    }

    public void Dispose()
    {
        if (Offers)
        {
            Secret.Wipe(_sendKey);
            Secret.Wipe(_receiveKey);
        }
    }
}
