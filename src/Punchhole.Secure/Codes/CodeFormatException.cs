namespace Punchhole.Secure.Codes;

/// <summary>A code the user typed is malformed: the message is one line for the user, given before any network traffic.</summary>
internal sealed class CodeFormatException(string message) : FormatException(message);
