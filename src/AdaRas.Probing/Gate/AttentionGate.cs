using System.Text.Json.Nodes;
using AdaRas.Model;
using AdaRas.Probing.Files;
using AdaRas.Probing.LinearProbe;
using AdaRas.Probing.Metrics;

namespace AdaRas.Probing.Gate;

/// <summary>How a gate was trained (kept in its file).</summary>
internal sealed record GateTrainingInfo(
    int Epochs, int BestEpoch, double BestValidationAuroc, int TrainQuestions, int ValidationQuestions,
    double PosWeight, int BatchSize, double LearningRate, double WeightDecay, int Seed);

/// <summary>
/// A trained attention gate (docs/ARCHITECTURE.md, method step 5): from a question's per-token features at its feature ids it predicts
/// p(correct); the adaptive policy steers when p &lt; <see cref="Threshold"/>.
/// File: the ClassifierFile container with magic "ADRSGATE", version 1; header fields kind, model_id, num_layers,
/// intermediate_size, feature_count, hidden_size, dropout, threshold, standardized, training {...}; arrays
/// feature_ids (int32 [N], ascending global neuron ids), feature_mean and feature_std (float32 [N]; mean 0 and
/// std 1 when not standardised), then the float32 parameters attention.weight [N], attention.bias [1],
/// hidden.weight [H x N] (row-major, PyTorch's Linear layout), hidden.bias [H], output.weight [H], output.bias [1].
/// </summary>
internal sealed class AttentionGate
{
    const string Magic = "ADRSGATE";
    const int FormatVersion = 1;
    public const string Kind = "attention-gate";

    readonly int[] _featureIds;
    readonly float[] _featureStd;
    internal AttentionGateNetwork<float> Network { get; }

    public ModelShape Model { get; }
    /// <summary>Global neuron ids (layer * I + index), ascending: the order of the token feature columns.</summary>
    public IReadOnlyList<int> FeatureIds => _featureIds;
    public int FeatureCount => _featureIds.Length;
    public int HiddenSize => Network.HiddenSize;
    public double Dropout { get; }
    /// <summary>Youden's J threshold on the validation ROC: p(correct) below it means "steer".</summary>
    public double Threshold { get; }
    public bool Standardized { get; }
    public GateTrainingInfo Training { get; }

    internal AttentionGate(ModelShape model, int[] featureIds, AttentionGateNetwork<float> network, float[] featureStd,
        double dropout, double threshold, bool standardized, GateTrainingInfo training)
    {
        Model = model; _featureIds = featureIds; Network = network; _featureStd = featureStd;
        Dropout = dropout; Threshold = threshold; Standardized = standardized; Training = training;
    }

    /// <summary>p(correct) for one question: <paramref name="tokenFeatures"/> is tokens x N, row-major.</summary>
    public double PredictCorrect(ReadOnlySpan<float> tokenFeatures, int tokenCount)
    {
        if (tokenCount <= 0) throw new ArgumentException("a question needs at least one token");
        if (tokenFeatures.Length != tokenCount * FeatureCount)
            throw new ArgumentException(
                $"{tokenFeatures.Length} feature values for {tokenCount} tokens; the gate expects {tokenCount} x {FeatureCount}");
        int bad = ActivationMatrix.FirstNonFinite(tokenFeatures);
        if (bad >= 0)
            throw new ArgumentException(
                $"token {bad / FeatureCount}, feature {bad % FeatureCount} (neuron {_featureIds[bad % FeatureCount]}) is {tokenFeatures[bad]}");
        return Sigmoid(Network.Forward(tokenFeatures, tokenCount, default, new AttentionGateNetwork<float>.Workspace()));
    }

    public double PredictCorrect(ActivationMatrix tokens) => PredictCorrect(tokens.Values, tokens.Rows);

    /// <summary>The adaptive decision: steer when the gate predicts the reasoning will go wrong.</summary>
    public bool ShouldSteer(ReadOnlySpan<float> tokenFeatures, int tokenCount) => PredictCorrect(tokenFeatures, tokenCount) < Threshold;

    public bool ShouldSteer(ActivationMatrix tokens) => PredictCorrect(tokens) < Threshold;

    /// <summary>Predictions, ROC and report at <see cref="Threshold"/> on questions whose features are already extracted.</summary>
    public ClassifierEvaluation Evaluate(IReadOnlyList<GateExample> examples, string split)
    {
        var scores = new double[examples.Count];
        for (int i = 0; i < scores.Length; i++)
        {
            try { scores[i] = PredictCorrect(examples[i].Tokens); }
            catch (ArgumentException e) { throw new ArgumentException($"{split} question {i}: {e.Message}", e); }
        }
        return ClassifierEvaluation.From(Kind, split, scores, examples.Select(e => e.IsGood).ToArray(), Threshold);
    }

    internal static double Sigmoid(float logit) => L1LogisticRegression.Sigmoid(logit);

    public void Save(string path)
    {
        int n = FeatureCount, h = HiddenSize;
        var header = new JsonObject
        {
            ["kind"] = Kind,
            ["model_id"] = Model.ModelId ?? throw new InvalidOperationException("a classifier file records the model identity; train it on a ModelShape with a ModelId"),
            ["num_layers"] = Model.Layers,
            ["intermediate_size"] = Model.IntermediateSize,
            ["feature_count"] = n,
            ["hidden_size"] = h,
            ["dropout"] = Dropout,
            ["threshold"] = Threshold,
            ["standardized"] = Standardized,
            ["training"] = new JsonObject
            {
                ["epochs"] = Training.Epochs,
                ["best_epoch"] = Training.BestEpoch,
                ["best_validation_auroc"] = Training.BestValidationAuroc,
                ["train_questions"] = Training.TrainQuestions,
                ["validation_questions"] = Training.ValidationQuestions,
                ["pos_weight"] = Training.PosWeight,
                ["batch_size"] = Training.BatchSize,
                ["learning_rate"] = Training.LearningRate,
                ["weight_decay"] = Training.WeightDecay,
                ["seed"] = Training.Seed,
            },
        };
        var builder = new ClassifierFile.Builder()
            .Int32("feature_ids", _featureIds)
            .Float32("feature_mean", Network.FeatureMean)
            .Float32("feature_std", _featureStd);
        var parameters = Network.Parameters.AsSpan();
        foreach (var (name, _) in AttentionGateNetwork<float>.Groups(n, h))
            builder.Float32(name, Network.Group(parameters, name));
        builder.Write(path, Magic, FormatVersion, header);
    }

    /// <summary>
    /// Loads and validates a gate file. With <paramref name="expectedModel"/> or <paramref name="expectedFeatureCount"/>,
    /// a gate for another model or another N is refused with a message naming the file.
    /// </summary>
    public static AttentionGate Load(string path, ModelShape? expectedModel = null, int? expectedFeatureCount = null)
    {
        var f = ClassifierFile.Reader.Open(path, Magic, FormatVersion, "attention gate");
        if (f.Text("kind") != Kind) throw new ModelFormatException(path, $"kind is '{f.Text("kind")}', expected '{Kind}'");
        ModelShape model;
        try { model = new ModelShape(f.Integer("num_layers"), f.Integer("intermediate_size"), f.Text("model_id")); }
        catch (ArgumentException e) { throw new ModelFormatException(path, e.Message, inner: e); }
        L1Probe.CheckModel(path, model, expectedModel, "attention gate");
        int n = f.Integer("feature_count"), h = f.Integer("hidden_size");
        if (n <= 0 || n > model.NeuronCount)
            throw new ModelFormatException(path, $"feature_count {n} is out of range for model {model}");
        if (expectedFeatureCount is int expected && n != expected)
            throw new ModelFormatException(path, $"this gate uses N = {n} features, but {expected} were expected");
        if (h <= 0) throw new ModelFormatException(path, $"hidden_size {h} must be positive");
        double dropout = f.Number("dropout"), threshold = f.Number("threshold");
        if (!(dropout >= 0 && dropout < 1)) throw new ModelFormatException(path, $"dropout {dropout} is not in [0, 1)");
        if (!(threshold >= 0 && threshold <= 1)) throw new ModelFormatException(path, $"threshold {threshold} is not a probability");
        bool standardized = f.Header["standardized"] is JsonValue sv && sv.TryGetValue<bool>(out var s)
            ? s : throw new ModelFormatException(path, "header field 'standardized' is missing or not a boolean");

        var ids = f.Int32("feature_ids", n);
        try { model.ValidateNeuronIds(ids, requireAscending: true, "feature_ids"); }
        catch (ArgumentException e) { throw new ModelFormatException(path, e.Message, "feature_ids", e); }
        var mean = f.Float32("feature_mean", n);
        var std = f.Float32("feature_std", n);
        for (int j = 0; j < n; j++)
            if (!(std[j] > 0)) throw new ModelFormatException(path, $"element {j} is {std[j]}; a std must be positive", "feature_std");
        var network = new AttentionGateNetwork<float>(n, h, mean: mean, invStd: std.Select(v => 1 / v).ToArray());
        var parameters = network.Parameters.AsSpan();
        foreach (var (name, length) in AttentionGateNetwork<float>.Groups(n, h))
            f.Float32(name, length).CopyTo(network.Group(parameters, name));

        var t = f.Object("training");
        var training = new GateTrainingInfo(
            f.Integer(t, "epochs", "training"), f.Integer(t, "best_epoch", "training"),
            f.Number(t, "best_validation_auroc", "training"), f.Integer(t, "train_questions", "training"),
            f.Integer(t, "validation_questions", "training"), f.Number(t, "pos_weight", "training"),
            f.Integer(t, "batch_size", "training"), f.Number(t, "learning_rate", "training"),
            f.Number(t, "weight_decay", "training"), f.Integer(t, "seed", "training"));
        return new AttentionGate(model, ids, network, std, dropout, threshold, standardized, training);
    }
}
