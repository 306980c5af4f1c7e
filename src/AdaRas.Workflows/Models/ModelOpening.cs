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
    /// <param name="export">How a checkpoint is exported (precision, ...); ignored for an exported folder.</param>
    public static LanguageModel Open(string path, ModelOptions? options = null, IProgress<ExportProgress>? exportProgress = null,
        CancellationToken cancellation = default, ExportOptions? export = null) =>
        LanguageModel.Load(ModelResolver.Resolve(path, export, exportProgress, cancellation), options);
}
