using AdaRas.Model;

namespace AdaRas.Cli.Commands;

/// <summary>
/// Runs a verb's body and turns failures into the exit codes users and scripts rely on: 0 success; 2 bad input
/// (<see cref="InputException"/>, whose message names the file, line or tensor, or an I/O error such as a missing
/// or unreadable file); 130 cancelled (Ctrl+C or SIGTERM); 1 anything else, which is a bug and prints its stack trace.
/// </summary>
static class CommandRunner
{
    public const int BadInput = 2;
    public const int Bug = 1;
    public const int Cancelled = 130;

    public static int Run(CliConsole console, Func<int> body)
    {
        try
        {
            // A signal that came before the verb started: nothing is done. Verbs then check the token at each step;
            // the instant ones (info, tokenize, report, eval merge) write atomically, so a signal never leaves half a file.
            console.Cancellation.ThrowIfCancellationRequested();
            return body();
        }
        catch (Exception e)
        {
            var (code, message) = Classify(e);
            if (console.Error is LineTrackingWriter { AtLineStart: false }) console.Error.WriteLine();   // after a progress line
            console.Error.WriteLine(message);
            return code;
        }
    }

    /// <summary>The exit code and stderr text for an exception that escaped a verb.</summary>
    internal static (int Code, string Message) Classify(Exception e)
    {
        var inner = Unwrap(e);
        return inner switch
        {
            OperationCanceledException => (Cancelled, "cancelled"),
            InputException or IOException or UnauthorizedAccessException => (BadInput, $"error: {inner.Message}"),
            _ => (Bug, $"internal error (a bug, not your input; please report it with this trace):\n{e}"),
        };
    }

    /// <summary>Tasks and type initialisers wrap the exception that matters; a single inner one is the real cause.</summary>
    static Exception Unwrap(Exception e) => e switch
    {
        AggregateException { InnerExceptions.Count: 1 } a => Unwrap(a.InnerExceptions[0]),
        TypeInitializationException { InnerException: { } i } => Unwrap(i),
        _ => e,
    };
}
