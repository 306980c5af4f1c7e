namespace AdaRas.Steering.Patterns;

/// <summary>A pattern file (or its sidecar) is malformed or does not fit the model; names the file and line.</summary>
public sealed class PatternFormatException(string filePath, int? line, string message, Exception? inner = null)
    : Exception(line is null ? $"{filePath}: {message}" : $"{filePath}:{line}: {message}", inner)
{
    public string FilePath { get; } = filePath;
    /// <summary>1-based line in the file (the header is line 1), when the problem is on one line.</summary>
    public int? Line { get; } = line;
}
