using AdaRas.Model;

namespace AdaRas.Cli.Commands;

/// <summary>
/// Runs a verb's body and turns failures into the exit codes users and scripts rely on:
/// 0 success, 2 bad input (the message names the file, line or tensor), 1 anything else, 130 cancelled.
/// </summary>
static class CommandRunner
{
    public const int BadInput = 2;

    public static int Run(CliConsole console, Func<int> body)
    {
        try
        {
            return body();
        }
        catch (OperationCanceledException)
        {
            console.Error.WriteLine("cancelled");
            return 130;
        }
        catch (Exception e) when (e is ModelFormatException or ArgumentException or FileNotFoundException
                                       or DirectoryNotFoundException or InvalidDataException or FormatException
                                       or InvalidOperationException or IOException or NotSupportedException
                                       or System.Text.Json.JsonException
                                       or AdaRas.Steering.Patterns.PatternFormatException
                                       or AdaRas.Steering.Rcn.NonFiniteActivationException)
        {
            console.Error.WriteLine($"error: {e.Message}");
            return BadInput;
        }
    }
}
