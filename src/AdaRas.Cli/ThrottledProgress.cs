using System.Diagnostics;

namespace AdaRas.Cli;

/// <summary>
/// Reports at most every 200 ms, so progress lines don't flood the terminal; <see cref="Flush"/> (or disposing)
/// reports the last value if it was held back, so the final state is always shown. Safe to report from several
/// threads: one report at a time reaches the callback.
/// </summary>
sealed class ThrottledProgress<T>(Action<T> report) : IProgress<T>, IDisposable
{
    readonly Lock _lock = new();
    readonly Stopwatch _clock = Stopwatch.StartNew();
    long _lastMs = -1000;
    T _held = default!;
    bool _holding;

    public void Report(T value)
    {
        lock (_lock)
        {
            long now = _clock.ElapsedMilliseconds;
            if (now - _lastMs < 200)
            {
                (_held, _holding) = (value, true);
                return;
            }
            _lastMs = now;
            _holding = false;
            report(value);
        }
    }

    /// <summary>Reports the last value if the throttle held it back.</summary>
    public void Flush()
    {
        lock (_lock)
        {
            if (!_holding) return;
            _holding = false;
            report(_held);
        }
    }

    public void Dispose() => Flush();
}
