using AdaRas.Model;
using AdaRas.Probing.Features;
using AdaRas.Probing.Gate;

namespace AdaRas.Evaluation.Experiments;

/// <summary>
/// The adaptive decision for one question (DESIGN.md step 5): the raw question (no chat template, as the
/// paper's predictor feeds it) runs once through the model, the gate reads the per-token activations at its
/// feature ids and predicts p(correct); the question is steered when p is below the threshold.
/// </summary>
/// <remarks>
/// Interim wiring kept internal to the harness: AdaRas.Probing is growing an adaptive API for the same decision,
/// which this class is to be replaced by.
/// </remarks>
internal sealed class QuestionGate
{
    readonly AttentionGate _gate;
    readonly QuestionFeatures _features;

    /// <summary>The threshold in use: <paramref name="thresholdOverride"/> or the file's (Youden's J on validation).</summary>
    public double Threshold { get; }

    public QuestionGate(AdaRas.Engine.Model model, string gateFile, double? thresholdOverride = null)
    {
        // A gate trained on another model (or shape) is refused with a message naming the file.
        _gate = AttentionGate.Load(gateFile, ModelShape.FromManifest(model.Manifest));
        _features = new QuestionFeatures(model, _gate.FeatureIds.ToArray());
        Threshold = thresholdOverride ?? _gate.Threshold;
    }

    public readonly record struct Decision(double PredictedCorrect, bool Steer);

    public Decision Decide(string question)
    {
        var tokens = _features.Extract(question).Tokens!;
        double p = _gate.PredictCorrect(tokens);
        return new Decision(p, p < Threshold);
    }
}
