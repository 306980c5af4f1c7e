using System.Text.Json;
using System.Text.Json.Serialization;
using AdaRas.Model;
using AdaRas.Steering.Rcn;

namespace AdaRas.Steering.Patterns;

/// <summary>
/// <c>&lt;pattern&gt;.json</c> beside a pattern CSV we wrote: which model and data it came from and how much
/// data, so a pattern is never applied to a model it was not identified on.
/// </summary>
internal sealed record PatternSidecar
{
    public const string CurrentFormat = "adaras-rcn-pattern";
    public const int CurrentVersion = 1;

    public string Format { get; init; } = CurrentFormat;
    public int FormatVersion { get; init; } = CurrentVersion;
    /// <summary><see cref="ModelManifest.ModelId"/> of the model the trajectories ran on.</summary>
    public string? ModelId { get; init; }
    /// <summary>A human name for the model (folder name or checkpoint id); informational.</summary>
    public string? ModelName { get; init; }
    public required int Layers { get; init; }
    public required int IntermediateSize { get; init; }
    public required string DatasetName { get; init; }
    public string? DatasetPath { get; init; }
    public required int CorrectTrajectories { get; init; }
    public required int IncorrectTrajectories { get; init; }
    public required long CorrectTokens { get; init; }
    public required long IncorrectTokens { get; init; }
    /// <summary>Rows written (the paper keeps 200).</summary>
    public required int Top { get; init; }
    public required DateTimeOffset Created { get; init; }
    public string Ranking { get; init; } = "relative desc, abs_weight desc, overall_neuron_index asc";
    public double Epsilon { get; init; } = 1e-8;

    public static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>The sidecar of a pattern identified from <paramref name="counts"/> on a model of <paramref name="shape"/>.</summary>
    public static PatternSidecar Create(ModelShape shape, ClassCounts counts, int top, string datasetName,
        string? datasetPath = null, string? modelName = null) => new()
    {
        ModelId = shape.ModelId,
        ModelName = modelName,
        Layers = shape.Layers,
        IntermediateSize = shape.IntermediateSize,
        DatasetName = datasetName,
        DatasetPath = datasetPath,
        CorrectTrajectories = counts.CorrectTrajectories,
        IncorrectTrajectories = counts.IncorrectTrajectories,
        CorrectTokens = counts.CorrectTokens,
        IncorrectTokens = counts.IncorrectTokens,
        Top = top,
        Created = DateTimeOffset.UtcNow,
    };

    /// <summary>The sidecar path of a pattern CSV: same folder and name, extension <c>.json</c>.</summary>
    public static string PathFor(string patternPath) => Path.ChangeExtension(patternPath, ".json");

    public static PatternSidecar Load(string path)
    {
        PatternSidecar? s;
        try { s = JsonSerializer.Deserialize<PatternSidecar>(File.ReadAllText(path), JsonOptions); }
        catch (JsonException e) { throw new PatternFormatException(path, null, $"cannot parse the pattern sidecar: {e.Message}", e); }
        if (s is null) throw new PatternFormatException(path, null, "empty pattern sidecar");
        if (s.Format != CurrentFormat || s.FormatVersion != CurrentVersion)
            throw new PatternFormatException(path, null, $"format '{s.Format}' v{s.FormatVersion} is not '{CurrentFormat}' v{CurrentVersion}");
        if (s.Layers <= 0 || s.IntermediateSize <= 0)
            throw new PatternFormatException(path, null, $"layers ({s.Layers}) and intermediate_size ({s.IntermediateSize}) must be positive");
        return s;
    }

    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);
}
