using System.Diagnostics;
using AdaRas.Engine;
using AdaRas.Model;
using AdaRas.Probing.FeatureSelection;
using AdaRas.Probing.Features;
using AdaRas.Probing.Gate;
using AdaRas.Probing.Metrics;

namespace AdaRas.Workflows;

/// <summary>
/// What to train a gate on: labelled train and validation questions, and the feature neurons, either from a
/// feature file (<see cref="FeaturesPath"/>) or the top <see cref="Top"/> by ANOVA F-score on the train questions.
/// </summary>
internal sealed record GateTrainingRequest(LabelledQuestionSet Train, LabelledQuestionSet Validation)
{
    public string? FeaturesPath { get; init; }
    public int? Top { get; init; }
    public AttentionGateOptions Options { get; init; } = new();
}

/// <summary>A trained gate with what it was trained on and how it did on the validation questions.</summary>
internal sealed record GateTrainingResult(AttentionGate Gate, SelectedFeatures Features, IReadOnlyList<GateEpoch> History,
    ClassifierEvaluation Validation, double TrainingSeconds);

/// <summary>
/// The paper's gate recipe, in one place for <c>adaras gate train</c> and the demo: features (file or F-score top
/// N), the questions run through the loaded model for their per-token activations at those neurons, the attention
/// gate trained with early stopping on validation AUROC, and its evaluation on the validation questions.
/// </summary>
internal static class GateTraining
{
    public static GateTrainingResult Train(LanguageModel model, GateTrainingRequest request,
        IProgress<ExtractionProgress>? progress = null, Action<GateEpoch>? onEpoch = null, CancellationToken cancellation = default)
    {
        request.Options.Validate();
        var shape = ModelShape.FromManifest(model.Manifest);
        var selected = SelectFeatures(model, shape, request, progress, cancellation);
        var ids = selected.Ids;
        var trainExamples = QuestionDataset.GateExamples(model, request.Train, ids, progress, cancellation);
        var validationExamples = QuestionDataset.GateExamples(model, request.Validation, ids, progress, cancellation);
        var clock = Stopwatch.StartNew();
        var trained = AttentionGateTrainer.Train(shape, ids, trainExamples, validationExamples, request.Options, onEpoch);
        double seconds = clock.Elapsed.TotalSeconds;
        var evaluation = trained.Gate.Evaluate(validationExamples, "validation");
        return new GateTrainingResult(trained.Gate, selected, trained.History, evaluation, seconds);
    }

    static SelectedFeatures SelectFeatures(LanguageModel model, ModelShape shape, GateTrainingRequest request,
        IProgress<ExtractionProgress>? progress, CancellationToken cancellation)
    {
        if ((request.FeaturesPath is null) == (request.Top is null))
            throw new UsageException("give exactly one of a feature file (--features) or a top N (--top)");
        if (request.FeaturesPath is not null) return SelectedFeatures.Load(request.FeaturesPath, shape);
        int top = request.Top!.Value;
        if (top <= 0 || top > shape.NeuronCount)
            throw new UsageException($"--top {top} is outside 1..{shape.NeuronCount} (the model's neurons: {shape})");
        var train = request.Train;
        var scores = QuestionDataset.FScores(model, train, progress, cancellation);
        return SelectedFeatures.FromScores(shape, scores, top, train.Path, train.Correct, train.Incorrect);
    }
}
