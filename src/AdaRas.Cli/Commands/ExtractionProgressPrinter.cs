using System.Diagnostics;
using AdaRas.Probing.Features;

namespace AdaRas.Cli.Commands;

/// <summary>
/// Prints a pass over a question file to stderr as one updating line (questions done, tokens/s, ETA), at most
/// every 200 ms, and always the start and the end of each pass. Disposing ends a line left open by a failed pass,
/// so the error message starts on a line of its own.
/// </summary>
sealed class ExtractionProgressPrinter(CliConsole console) : IProgress<ExtractionProgress>, IDisposable
{
    readonly Stopwatch _clock = Stopwatch.StartNew();
    long _lastMs = -1000;
    bool _lineOpen;

    /// <summary>Tokens and seconds over every pass so far (for the report).</summary>
    public long Tokens { get; private set; }
    public double Seconds { get; private set; }

    public void Report(ExtractionProgress p)
    {
        bool end = p.Done == p.Total;
        if (!end && p.Done > 0 && _clock.ElapsedMilliseconds - _lastMs < 200) return;
        _lastMs = _clock.ElapsedMilliseconds;
        var eta = p.Eta is { } e ? $"ETA {e:hh\\:mm\\:ss}" : "ETA --:--:--";
        console.Error.Write($"\r{p.Stage}: {p.Done}/{p.Total} questions, {p.Tokens} tokens, {p.TokensPerSecond:F0} tok/s, " +
            (end ? $"{p.Elapsed.TotalSeconds:F1} s     " : eta + "     "));
        _lineOpen = !end;
        if (end)
        {
            console.Error.WriteLine();
            Tokens += p.Tokens;
            Seconds += p.Elapsed.TotalSeconds;
        }
    }

    public void Dispose()
    {
        if (_lineOpen) console.Error.WriteLine();
        _lineOpen = false;
    }
}
