using AdaRas.Engine;
using AdaRas.Export;

namespace AdaRas.Workflows;

/// <summary>
/// Opens whatever a user calls a model: an exported folder as it is, or a Hugging Face Qwen3 checkpoint, exported
/// once into the cache (<see cref="ModelResolver.CacheRoot"/>) and reused. The one way every verb and the demo load
/// a model, so they accept the same paths and the same <see cref="ModelOptions"/> (the execution provider).
/// </summary>
internal static class ModelOpening
{
    public static LanguageModel Open(string path, ModelOptions? options = null, IProgress<ExportProgress>? exportProgress = null,
        CancellationToken cancellation = default) =>
        LanguageModel.Load(ModelResolver.Resolve(path, progress: exportProgress, cancellation: cancellation), options);
}
