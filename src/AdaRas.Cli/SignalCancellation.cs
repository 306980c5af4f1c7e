using System.Runtime.InteropServices;

namespace AdaRas.Cli;

/// <summary>
/// The first SIGINT or SIGTERM cancels the running verb instead of killing the process, so it can stop cleanly:
/// write its summary, release its lock, remove temporary folders, stop its child processes, exit 130. A second
/// signal, or a verb that has not stopped within <see cref="Grace"/>, ends the process at once.
/// </summary>
sealed class SignalCancellation : IDisposable
{
    public static readonly TimeSpan Grace = TimeSpan.FromSeconds(30);

    readonly CancellationTokenSource _cancellation;
    readonly TextWriter _error;
    readonly PosixSignalRegistration[] _registrations;
    int _signals;

    public SignalCancellation(CancellationTokenSource cancellation, TextWriter error)
    {
        _cancellation = cancellation;
        _error = error;
        _registrations = [PosixSignalRegistration.Create(PosixSignal.SIGINT, Handle), PosixSignalRegistration.Create(PosixSignal.SIGTERM, Handle)];
    }

    void Handle(PosixSignalContext context)
    {
        if (Interlocked.Increment(ref _signals) > 1) return;   // the second signal: default handling ends the process
        context.Cancel = true;
        _error.WriteLine($"\n{context.Signal}: cancelling (again to stop at once)");
        _ = Task.Run(() => _cancellation.Cancel());
        _ = Task.Delay(Grace).ContinueWith(_ =>
        {
            _error.WriteLine($"cancelled: the command did not stop within {Grace.TotalSeconds:F0} s");
            Environment.Exit(130);
        }, TaskScheduler.Default);
    }

    public void Dispose()
    {
        foreach (var r in _registrations) r.Dispose();
    }
}
