namespace Punchhole.Tests.Support;

/// <summary>
/// How to start one build of a program: its executable, and the arguments that come before the
/// program's own (the binary itself, when <see cref="Executable"/> is an emulator such as qemu).
/// </summary>
internal sealed record Launcher(string Executable, params string[] Prefix)
{
    public ChildProcess Start(params string[] args) => ChildProcess.Start(Executable, [.. Prefix, .. args]);

    public override string ToString() => string.Join(' ', [Executable, .. Prefix]);
}
