using System.Diagnostics;

namespace AdaRas.Cli;

/// <summary>Reports at most every 200 ms (and always the last value), so progress lines don't flood the terminal.</summary>
sealed class ThrottledProgress<T>(Action<T> report) : IProgress<T>
{
    readonly Stopwatch _clock = Stopwatch.StartNew();
    long _lastMs = -1000;

    public void Report(T value)
    {
        if (_clock.ElapsedMilliseconds - _lastMs < 200) return;
        _lastMs = _clock.ElapsedMilliseconds;
        report(value);
    }
}
