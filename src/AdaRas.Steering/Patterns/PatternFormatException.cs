namespace AdaRas.Steering.Patterns;

/// <summary>A pattern file (or its sidecar) is malformed or does not fit the model; names the file and line.</summary>
public sealed class PatternFormatException(string filePath, int? line, string message, Exception? inner = null)
    : AdaRas.Files.InputException(filePath, line, message, inner)
{
    /// <summary>The pattern file (never null here).</summary>
    public new string FilePath { get; } = filePath;
}
