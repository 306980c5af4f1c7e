namespace AdaRas.Cli;

/// <summary>Where a command writes: results to Out (pipeable), progress and errors to Error.</summary>
internal sealed record CliConsole(TextWriter Out, TextWriter Error)
{
    /// <summary>Cancelled on SIGINT/SIGTERM; for work outside a verb's own token (e.g. exporting a checkpoint on first use).</summary>
    public CancellationToken Cancellation { get; init; }
}
