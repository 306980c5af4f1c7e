using System.CommandLine;
using AdaRas.Engine;
using AdaRas.Export;

namespace AdaRas.Cli.Commands;

/// <summary>
/// The --model option every inference verb shares: an exported folder or a Hugging Face checkpoint (exported
/// once into the cache); by default the embedded demo model shipped beside the executable.
/// </summary>
static class ModelOption
{
    public static string DefaultModelFolder => Path.Combine(AppContext.BaseDirectory, "models", "adaras-demo");

    public static Option<string> Create() => new("--model", "-m")
    {
        Description = "exported model folder or Hugging Face Qwen3 checkpoint (default: the embedded demo model)",
        DefaultValueFactory = _ => DefaultModelFolder,
    };

    public static AdaRas.Engine.LanguageModel Load(ParseResult parse, Option<string> option, CliConsole console) =>
        Load(parse.GetValue(option)!, console);

    /// <summary>Loads an exported folder, or exports a checkpoint once (progress on stderr) and loads that.</summary>
    public static AdaRas.Engine.LanguageModel Load(string path, CliConsole console)
    {
        bool reported = false;
        var folder = ModelResolver.Resolve(path, progress: new ThrottledProgress<ExportProgress>(p =>
        {
            reported = true;
            console.Error.Write($"\rexporting checkpoint: {p.Step,-16} {100.0 * p.BytesDone / Math.Max(1, p.BytesTotal),5:F1}%   ");
        }));
        if (reported) console.Error.WriteLine();
        return AdaRas.Engine.LanguageModel.Load(folder);
    }
}
