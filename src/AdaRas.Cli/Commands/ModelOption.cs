using System.CommandLine;
using AdaRas.Engine;
using AdaRas.Export;
using AdaRas.Workflows;

namespace AdaRas.Cli.Commands;

/// <summary>
/// The options every inference verb shares: --model, an exported folder or a Hugging Face checkpoint (exported once
/// into the cache; by default the embedded demo model shipped beside the executable), and --provider, where ONNX
/// Runtime runs it (the steering kernels follow: CUDA buffers for a CUDA session).
/// </summary>
sealed class ModelOption
{
    public static string DefaultModelFolder => Path.Combine(AppContext.BaseDirectory, "models", "adaras-demo");

    readonly Option<string> _path = new("--model", "-m")
    {
        Description = "exported model folder or Hugging Face Qwen3 checkpoint (default: the embedded demo model)",
        DefaultValueFactory = _ => DefaultModelFolder,
    };

    readonly Option<string> _provider = CreateProvider();

    /// <summary>The --model value as given (a folder or checkpoint path).</summary>
    public string PathOf(ParseResult parse) => parse.GetValue(_path)!;

    public void AddTo(Command command)
    {
        command.Add(_path);
        command.Add(_provider);
    }

    public LanguageModel Load(ParseResult parse, CliConsole console, CancellationToken cancellation = default) =>
        Load(parse.GetValue(_path)!, ReadProvider(parse, _provider), console, cancellation);

    /// <summary>--provider cpu|cuda (cuda needs the CUDA build, -p:AdaRasCuda=true, and an NVIDIA GPU).</summary>
    public static Option<string> CreateProvider()
    {
        var option = new Option<string>("--provider")
        {
            Description = "ONNX Runtime execution provider: cpu, or cuda (CUDA build and an NVIDIA GPU; steering kernels then run on the GPU too)",
            DefaultValueFactory = _ => "cpu",
        };
        option.AcceptOnlyFromAmong("cpu", "cuda");
        return option;
    }

    public static ModelOptions ReadProvider(ParseResult parse, Option<string> provider) => new()
    {
        Provider = parse.GetValue(provider) == "cuda" ? ExecutionProvider.Cuda : ExecutionProvider.Cpu,
    };

    /// <summary>Opens a model path (exporting a checkpoint once, progress on stderr) on the given provider.</summary>
    public static LanguageModel Load(string path, ModelOptions options, CliConsole console, CancellationToken cancellation = default)
    {
        bool reported = false;
        using var progress = new ThrottledProgress<ExportProgress>(p =>
        {
            reported = true;
            console.Error.Write($"\rexporting checkpoint: {p.Step,-16} {100.0 * p.BytesDone / Math.Max(1, p.BytesTotal),5:F1}%   ");
        });
        try { return ModelOpening.Open(path, options, progress, cancellation.CanBeCanceled ? cancellation : console.Cancellation); }
        finally
        {
            progress.Flush();
            if (reported) console.Error.WriteLine();
        }
    }
}
