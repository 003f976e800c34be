using System.Net.Sockets;
using Punchhole.Client;

namespace Punchhole.Tests.Client;

/// <summary>Socket and I/O errors become English sentences that name the side, never resource keys.</summary>
public class ErrorTextTests
{
    [Fact]
    public void A_reset_names_the_side_that_reset()
    {
        Assert.Equal("the peer reset the connection", ErrorText.Failure("the peer", reading: true, new SocketException((int)SocketError.ConnectionReset)));
        Assert.Equal("the service at db:5432 reset the connection", ErrorText.Failure("the service at db:5432", reading: false, new IOException("x", new SocketException((int)SocketError.Shutdown))));
    }

    [Fact]
    public void File_errors_name_the_stream_and_the_errno_in_words()
    {
        Assert.Equal("writing to stdout failed: its reader has gone (broken pipe)", ErrorText.Failure("stdout", reading: false, new IOException("Broken pipe", 32)));
        Assert.Equal("reading stdin failed: it is a directory", ErrorText.Failure("stdin", reading: true, new IOException("Is a directory", 21)));
        Assert.Equal("writing to stdout failed: no space left on the device", ErrorText.Failure("stdout", reading: false, new IOException("No space left on device", 28)));
        Assert.Equal("writing to stdout failed: it is closed", ErrorText.Failure("stdout", reading: false, new UnauthorizedAccessException()));
    }

    [Theory]
    [InlineData(SocketError.ConnectionRefused, "connection refused")]
    [InlineData(SocketError.HostNotFound, "no such host")]
    [InlineData(SocketError.AddressAlreadyInUse, "the address is already in use")]
    [InlineData(SocketError.MessageSize, "message size")]
    public void Every_socket_error_has_words(SocketError error, string expected) => Assert.Equal(expected, ErrorText.Of(error));

    [Fact]
    public void Text_from_elsewhere_is_kept_to_one_line() => Assert.Equal("first second", ErrorText.OneLine("first\r\nsecond."));
}
