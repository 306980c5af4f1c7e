namespace AdaRas.Cli;

/// <summary>Where a command writes: results to Out (pipeable), progress and errors to Error.</summary>
internal sealed record CliConsole(TextWriter Out, TextWriter Error);
