using System.Runtime.InteropServices;

namespace Punchhole.Client;

/// <summary>
/// Ctrl-C (SIGINT) and SIGTERM: one line, then exit 130 or 143. Every connection that matters has
/// SO_LINGER 0 from the moment it exists, so the kernel's close at exit is a reset: the T-STUN
/// server frees our key at once instead of holding a dead waiter, and the peer sees an abort,
/// never a FIN that would pass for the end of the data.
/// </summary>
internal sealed class Interruption : IDisposable
{
    private readonly ClientLog _log;
    private readonly PosixSignalRegistration[] _registrations;

    public Interruption(ClientLog log)
    {
        _log = log;
        _registrations = [PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal), PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal)];
    }

    private void OnSignal(PosixSignalContext context)
    {
        context.Cancel = true;
        var (name, code) = context.Signal == PosixSignal.SIGINT ? ("SIGINT", 130) : ("SIGTERM", 143);
        _log.Status(null);
        _log.Info($"interrupted by {name}: connections reset, nothing more is sent or received");
        Environment.Exit(code);
    }

    public void Dispose()
    {
        foreach (var registration in _registrations)
        {
            registration.Dispose();
        }
    }
}
