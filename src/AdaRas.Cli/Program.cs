using System.CommandLine;
using System.CommandLine.Invocation;
using AdaRas.Cli.Commands;

namespace AdaRas.Cli;

internal static class Program
{
    public static int Main(string[] args)
    {
        using var cancellation = new CancellationTokenSource();
        using var signals = new SignalCancellation(cancellation, Console.Error);
        return Run(args, cancellation: cancellation.Token);
    }

    /// <summary>Entry point shared by the executable and tests (which call it in-process).</summary>
    /// <param name="cancellation">Cancels the running verb (the executable cancels it on SIGINT and SIGTERM).</param>
    public static int Run(string[] args, TextWriter? stdout = null, TextWriter? stderr = null, CancellationToken cancellation = default)
    {
        var console = new CliConsole(stdout ?? Console.Out, new LineTrackingWriter(stderr ?? Console.Error)) { Cancellation = cancellation };
        var parse = Parse(args, console);
        // A command line that does not parse is a usage error: exit 2 with the reason on stderr, no help on stdout.
        if (parse.Errors.Count > 0 && parse.Action is ParseErrorAction)
        {
            foreach (var error in parse.Errors) console.Error.WriteLine($"error: {error.Message}");
            console.Error.WriteLine("(--help lists the options)");
            return CommandRunner.BadInput;
        }
        // The verbs observe the token themselves; System.CommandLine's own Ctrl+C handling only covers async work.
        var configuration = new InvocationConfiguration { Output = console.Out, Error = console.Error, ProcessTerminationTimeout = null };
        return parse.InvokeAsync(configuration, cancellation).GetAwaiter().GetResult();
    }

    /// <summary>Parses a command line without running it (tests check shipped command lines, e.g. in manifests, with it).</summary>
    public static ParseResult Parse(string[] args) => Parse(args, new CliConsole(TextWriter.Null, TextWriter.Null));

    static ParseResult Parse(string[] args, CliConsole console)
    {
        var root = new RootCommand("AdaRas: Qwen3 on ONNX Runtime with adaptive reasoning activation steering (arXiv 2601.19847)");
        foreach (var command in Verbs.All(console)) root.Add(command);
        return root.Parse(args);
    }
}
