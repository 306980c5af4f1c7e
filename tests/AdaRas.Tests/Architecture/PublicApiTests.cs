using System.Reflection;

namespace AdaRas.Tests.Architecture;

/// <summary>
/// The libraries' public API stays small and deliberate (internal by default; the repository's own projects and the
/// tests see internals through InternalsVisibleTo). A type that becomes public must be added here on purpose, with
/// XML docs (GenerateDocumentationFile makes a missing one an error). AdaRas.Serving keeps its own surface.
/// </summary>
[TestFixture]
public sealed class PublicApiTests
{
    static readonly string[] Expected =
    [
        "AdaRas.Files.InputException", "AdaRas.Files.UsageException",
        "AdaRas.Model.GraphNames", "AdaRas.Model.InvalidLogitsException", "AdaRas.Model.ModelFormatException",
        "AdaRas.Model.ModelManifest", "AdaRas.Model.TensorSpec",
        "AdaRas.Engine.BatchedGeneration", "AdaRas.Engine.BatchGenerator", "AdaRas.Engine.ChatRequest",
        "AdaRas.Engine.ContextLengthException", "AdaRas.Engine.ExecutionProvider", "AdaRas.Engine.GenerationJob",
        "AdaRas.Engine.GenerationResult", "AdaRas.Engine.GenerationStep", "AdaRas.Engine.Generator",
        "AdaRas.Engine.GeneratorParams", "AdaRas.Engine.GeneratorRow", "AdaRas.Engine.LanguageModel",
        "AdaRas.Engine.LogitsScope", "AdaRas.Engine.ModelOptions", "AdaRas.Engine.ScoreResult", "AdaRas.Engine.Scoring",
        "AdaRas.Engine.SteeringPositions", "AdaRas.Engine.SteeringTensors", "AdaRas.Engine.TextGeneration",
        "AdaRas.Engine.Tokenization.Qwen3ChatTemplate", "AdaRas.Engine.Tokenization.QwenTokenizer",
        "AdaRas.Engine.Tokenization.ThinkingSplit", "AdaRas.Engine.Tokenization.TokenizerStream",
        "AdaRas.Steering.Patterns.PatternFormatException", "AdaRas.Steering.Plans.SteeringMethod",
        "AdaRas.Steering.Steerer", "AdaRas.Steering.SteeringOptions",
    ];

    static readonly Assembly[] Libraries =
    [
        typeof(InputException).Assembly, typeof(AdaRas.Model.ModelManifest).Assembly,
        typeof(AdaRas.Export.Qwen3Exporter).Assembly, typeof(AdaRas.Engine.LanguageModel).Assembly,
        typeof(AdaRas.Steering.Steerer).Assembly, typeof(AdaRas.Probing.ActivationMatrix).Assembly,
        typeof(AdaRas.Workflows.ModelOpening).Assembly, typeof(AdaRas.Evaluation.Experiments.ExperimentRunner).Assembly,
        typeof(AdaRas.Cli.CliConsole).Assembly,
    ];

    [Test]
    public void ThePublicTypesAreExactlyTheApi()
    {
        var exported = Libraries.SelectMany(a => a.GetExportedTypes()).Select(t => t.FullName!).Order().ToList();
        TestContext.Out.WriteLine($"public {exported.Count}, internal " +
            Libraries.Sum(a => a.GetTypes().Count(t => !t.IsVisible && !t.Name.Contains('<') && !t.Name.Contains('$'))));
        Assert.That(exported, Is.EquivalentTo(Expected),
            "added: " + string.Join(", ", exported.Except(Expected)) + "; gone: " + string.Join(", ", Expected.Except(exported)));
    }
}
