using System.CommandLine;
using AdaRas.Cli.Commands;

namespace AdaRas.Cli;

internal static class Program
{
    public static int Main(string[] args) => Run(args);

    /// <summary>Entry point shared by the executable and tests (which call it in-process).</summary>
    public static int Run(string[] args, TextWriter? stdout = null, TextWriter? stderr = null)
    {
        var console = new CliConsole(stdout ?? Console.Out, stderr ?? Console.Error);
        var root = new RootCommand("AdaRas: Qwen3 on ONNX Runtime with adaptive reasoning activation steering (arXiv 2601.19847)");
        foreach (var command in Verbs.All(console)) root.Add(command);
        var parse = root.Parse(args);
        return parse.Invoke(new InvocationConfiguration { Output = console.Out, Error = console.Error });
    }
}
