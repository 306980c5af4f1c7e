namespace AdaRas.Files;

/// <summary>
/// Bad input from the user: a file that does not parse or does not fit, a config value out of range, an option
/// that makes no sense. The message starts with <c>file:line:</c> (or <c>file:</c>) when a file is involved, so the
/// user can find what is wrong without a debugger. The command line maps exactly this type (with I/O errors and
/// cancellation) to "error: ..." and exit code 2; any other exception is a bug and exits 1 with its stack trace.
/// </summary>
public class InputException : Exception
{
    /// <summary>The file at fault, when there is one.</summary>
    public string? FilePath { get; }
    /// <summary>1-based line in <see cref="FilePath"/>, when the problem is on one line.</summary>
    public int? Line { get; }
    /// <summary>What is wrong, without the file and line prefix.</summary>
    public string Problem { get; }

    /// <summary>A problem in a file (and line), or with no file when <paramref name="filePath"/> is null.</summary>
    public InputException(string? filePath, int? line, string problem, Exception? inner = null)
        : base(Format(filePath, line, problem), inner)
    {
        FilePath = filePath;
        Line = line;
        Problem = problem;
    }

    /// <summary>A problem with no file: an option or argument given on the command line.</summary>
    public InputException(string problem, Exception? inner = null) : this(null, null, problem, inner) { }

    static string Format(string? file, int? line, string problem) =>
        file is null ? problem : line is > 0 ? $"{file}:{line}: {problem}" : $"{file}: {problem}";
}

/// <summary>A command-line option or argument that is out of range or contradicts another (no file involved).</summary>
public sealed class UsageException(string problem) : InputException(problem);
