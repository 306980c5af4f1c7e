using System.Text.Json.Nodes;
using AdaRas.Model;
using AdaRas.Probing.Files;

namespace AdaRas.Probing.LinearProbe;

/// <summary>How an <see cref="L1Probe"/> was trained (kept in its file).</summary>
internal sealed record L1ProbeTrainingInfo(
    int Questions, int Correct, int Incorrect, int CandidateFeatures, int Folds, int Seed,
    double CrossValidatedAuroc, double CrossValidatedAccuracy);

/// <summary>
/// A trained L1 probe: logistic regression on last-token MLP activations, p(correct) = sigmoid(b + sum_k w_k a[id_k])
/// over its non-zero neurons only (the probe's own feature selection), weights in original activation units.
/// Beyond the paper, it can run per token: evaluate <see cref="ShouldSteer"/> on the last-token activations
/// every k generated tokens and steer from then on when it says so.
/// </summary>
internal sealed class L1Probe
{
    const string Magic = "ADRSPROB";
    const int FormatVersion = 1;
    public const string Kind = "l1-probe";

    readonly int[] _neuronIds;
    readonly double[] _weights;

    public ModelShape Model { get; }
    /// <summary>Global neuron ids (layer * I + index) with non-zero weight, ascending.</summary>
    public IReadOnlyList<int> NeuronIds => _neuronIds;
    public IReadOnlyList<double> Weights => _weights;
    public double Intercept { get; }
    /// <summary>p(correct) below this means "steer".</summary>
    public double Threshold { get; }
    /// <summary>The regularisation strength chosen by cross-validation (standardised-feature units).</summary>
    public double Lambda { get; }
    public L1ProbeTrainingInfo Training { get; }

    internal L1Probe(ModelShape model, int[] neuronIds, double[] weights, double intercept, double threshold,
        double lambda, L1ProbeTrainingInfo training)
    {
        if (neuronIds.Length != weights.Length) throw new ArgumentException("one weight per neuron id");
        model.ValidateNeuronIds(neuronIds, requireAscending: true, "L1 probe");
        if (!double.IsFinite(intercept) || weights.Any(w => !double.IsFinite(w)))
            throw new ArgumentException("L1 probe weights must be finite");
        if (!(threshold >= 0 && threshold <= 1)) throw new ArgumentException($"threshold {threshold} is not a probability");
        Model = model; _neuronIds = neuronIds; _weights = weights;
        Intercept = intercept; Threshold = threshold; Lambda = lambda; Training = training;
    }

    /// <summary>p(correct) from one position's activations of every layer (length layers x I, layer-major).</summary>
    public double PredictCorrect(ReadOnlySpan<float> lastTokenActivations)
    {
        if (lastTokenActivations.Length != Model.NeuronCount)
            throw new ArgumentException(
                $"last-token activations have {lastTokenActivations.Length} values; the probe's model {Model} has {Model.NeuronCount}");
        double eta = Intercept;
        for (int k = 0; k < _neuronIds.Length; k++)
        {
            float a = lastTokenActivations[_neuronIds[k]];
            if (!float.IsFinite(a))
            {
                var (layer, index) = Model.Locate(_neuronIds[k]);
                throw new ArgumentException($"activation of neuron {_neuronIds[k]} (layer {layer}, index {index}) is {a}");
            }
            eta += _weights[k] * a;
        }
        return L1LogisticRegression.Sigmoid(eta);
    }

    /// <summary>True when the probe predicts the reasoning will go wrong: p(correct) &lt; threshold.</summary>
    public bool ShouldSteer(ReadOnlySpan<float> lastTokenActivations) => PredictCorrect(lastTokenActivations) < Threshold;

    /// <summary>Writes the probe (container described in ClassifierFile), atomically.</summary>
    public void Save(string path)
    {
        var header = new JsonObject
        {
            ["kind"] = Kind,
            ["model_id"] = Model.ModelId ?? throw new InvalidOperationException("a classifier file records the model identity; train it on a ModelShape with a ModelId"),
            ["num_layers"] = Model.Layers,
            ["intermediate_size"] = Model.IntermediateSize,
            ["nonzero_count"] = _neuronIds.Length,
            ["intercept"] = Intercept,
            ["threshold"] = Threshold,
            ["lambda"] = Lambda,
            ["training"] = new JsonObject
            {
                ["questions"] = Training.Questions,
                ["correct"] = Training.Correct,
                ["incorrect"] = Training.Incorrect,
                ["candidate_features"] = Training.CandidateFeatures,
                ["folds"] = Training.Folds,
                ["seed"] = Training.Seed,
                ["cv_auroc"] = Training.CrossValidatedAuroc,
                ["cv_accuracy"] = Training.CrossValidatedAccuracy,
            },
        };
        new ClassifierFile.Builder()
            .Int32("neuron_ids", _neuronIds)
            .Float64("weights", _weights)
            .Write(path, Magic, FormatVersion, header);
    }

    /// <summary>
    /// Loads and validates a probe file. With <paramref name="expectedModel"/>, a probe trained for another model
    /// (identity, layer count or intermediate size) is refused.
    /// </summary>
    public static L1Probe Load(string path, ModelShape? expectedModel = null)
    {
        var f = ClassifierFile.Reader.Open(path, Magic, FormatVersion, "L1 probe");
        if (f.Text("kind") != Kind) throw new ModelFormatException(path, $"kind is '{f.Text("kind")}', expected '{Kind}'");
        ModelShape model;
        try { model = new ModelShape(f.Integer("num_layers"), f.Integer("intermediate_size"), f.Text("model_id")); }
        catch (ArgumentException e) { throw new ModelFormatException(path, e.Message, inner: e); }
        CheckModel(path, model, expectedModel, "L1 probe");
        int count = f.Integer("nonzero_count");
        if (count < 0 || count > model.NeuronCount) throw new ModelFormatException(path, $"nonzero_count {count} is out of range");
        var ids = f.Int32("neuron_ids", count);
        var weights = f.Float64("weights", count);
        var t = f.Object("training");
        var training = new L1ProbeTrainingInfo(
            f.Integer(t, "questions", "training"), f.Integer(t, "correct", "training"), f.Integer(t, "incorrect", "training"),
            f.Integer(t, "candidate_features", "training"), f.Integer(t, "folds", "training"), f.Integer(t, "seed", "training"),
            f.Number(t, "cv_auroc", "training"), f.Number(t, "cv_accuracy", "training"));
        try
        {
            return new L1Probe(model, ids, weights, f.Number("intercept"), f.Number("threshold"), f.Number("lambda"), training);
        }
        catch (ArgumentException e) { throw new ModelFormatException(path, e.Message, inner: e); }
    }

    internal static void CheckModel(string path, ModelShape actual, ModelShape? expected, string what)
    {
        if (expected is null || actual == expected) return;
        throw new ModelFormatException(path, $"this {what} was trained for model {actual}, not for the model in use {expected}");
    }
}
