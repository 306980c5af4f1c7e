using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace AdaRas.Evaluation.Demo;

/// <summary>
/// Sizes of the demo's stages. <see cref="Full"/> is the README's main job (a few minutes on 2 cores);
/// <see cref="Quick"/> is a smoke run of every stage for CI. Held-out test questions are only used at the very end:
/// every choice (alpha, K, method, positions, the gate's threshold) is made on the validation questions.
/// </summary>
internal sealed record DemoOptions
{
    /// <summary>Training questions sampled for the contrastive set (the first ones of train.jsonl).</summary>
    public int ContrastiveQuestions { get; init; } = 300;
    public int SamplesPerQuestion { get; init; } = 8;
    public double SamplingTemperature { get; init; } = 0.8;
    /// <summary>Further training questions labelled by the model's greedy correctness, for the gate.</summary>
    public int GateTrainQuestions { get; init; } = 400;
    /// <summary>Validation questions: the gate's threshold and the steering sweep.</summary>
    public int ValidationQuestions { get; init; } = 200;
    public int TestQuestions { get; init; } = 400;
    /// <summary>Neurons kept in the pattern; null keeps every neuron (the random-neuron control draws from them, with their own deltas).</summary>
    public int? PatternTop { get; init; }
    /// <summary>Gate features by ANOVA F-score (of the demo model's 1536 neurons).</summary>
    public int GateFeatures { get; init; } = 256;
    public int GateMaxEpochs { get; init; } = 100;
    public double[] Alphas { get; init; } = [1, 2, 4, 8];
    public int[] Neurons { get; init; } = [4, 8, 16];
    /// <summary>Seeds of the random-neuron control (the same K, alpha and method on K random neurons of the same layers).</summary>
    public int RandomSeeds { get; init; } = 5;
    /// <summary>Questions of the contrastive set whose trajectories the activation plot draws (one correct, one incorrect each).</summary>
    public int TraceQuestions { get; init; } = 4;
    /// <summary>The bar the held-out test is checked against (reported; the CI test asserts it on the quick run).</summary>
    public EffectCriteria Criteria { get; init; } = EffectCriteria.Full;
    public int MaxNewTokens { get; init; } = 128;
    /// <summary>
    /// Quantized precisions the chosen steering is repeated at, on the test questions (stage 8). Not part of
    /// <see cref="Hash"/>: each precision's runs are their own, so adding one extends a finished demo.
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public string[] Precisions { get; init; } = ["int8", "int4"];
    public int Seed { get; init; }
    /// <summary>Sequences decoded together (continuous batching). Not part of <see cref="Hash"/>: results do not depend on it.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public int BatchSize { get; init; } = 8;

    public static DemoOptions Full => new();

    public static DemoOptions Quick => new()
    {
        ContrastiveQuestions = 40, SamplesPerQuestion = 4, GateTrainQuestions = 120, ValidationQuestions = 40, TestQuestions = 80,
        GateFeatures = 64, GateMaxEpochs = 60, Alphas = [2, 4], Neurons = [16], RandomSeeds = 1, TraceQuestions = 2,
        Criteria = EffectCriteria.Quick,
    };

    public void Validate()
    {
        if (ContrastiveQuestions < 2 || SamplesPerQuestion < 2) throw new ArgumentException("the contrastive set needs at least 2 questions x 2 samples");
        if (GateTrainQuestions < 10 || ValidationQuestions < 10 || TestQuestions < 1) throw new ArgumentException("the gate needs >= 10 training and validation questions");
        if (!(SamplingTemperature > 0)) throw new ArgumentException("contrastive sampling needs a temperature > 0");
        if (BatchSize < 1) throw new ArgumentException($"batch size must be at least 1, got {BatchSize}");
        if (Alphas.Length == 0 || Neurons.Length == 0) throw new ArgumentException("the sweep needs at least one alpha and one K");
        if (RandomSeeds < 1) throw new ArgumentException("the random-neuron control needs at least one seed");
        foreach (var p in Precisions)
            if (p is not ("int8" or "int4")) throw new ArgumentException($"the quantized stage takes int8 or int4, got \"{p}\"");
        if (PatternTop is { } top && top < Neurons.Max()) throw new ArgumentException($"the pattern keeps {PatternTop} neurons but the sweep steers up to {Neurons.Max()}");
    }

    /// <summary>Identifies the options, so a results folder made with other options is not silently reused.</summary>
    public string Hash() => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(this))))[..16].ToLowerInvariant();
}
