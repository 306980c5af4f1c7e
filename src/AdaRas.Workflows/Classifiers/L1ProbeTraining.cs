using System.Diagnostics;
using AdaRas.Engine;
using AdaRas.Model;
using AdaRas.Probing.Features;
using AdaRas.Probing.LinearProbe;
using AdaRas.Probing.Metrics;

namespace AdaRas.Workflows;

/// <summary>Labelled questions for the L1 probe: read at the question's last token, or at the trajectory's (question + thinking).</summary>
internal sealed record L1ProbeRequest(LabelledQuestionSet Set, bool WithTrajectory, L1ProbeOptions Options);

/// <summary>A fitted probe with its regularisation path and its out-of-fold evaluation.</summary>
internal sealed record L1ProbeRun(L1ProbeTrainingResult Training, ClassifierEvaluation OutOfFold, double FitSeconds)
{
    public L1Probe Probe => Training.Probe;
}

/// <summary>The paper's preliminary L1 probe: last-token activations through the loaded model, then the cross-validated L1 path.</summary>
internal static class L1ProbeTraining
{
    /// <param name="onFit">Called once the activations are read, with (rows, columns), before the path is fitted.</param>
    public static L1ProbeRun Train(LanguageModel model, L1ProbeRequest request, IProgress<ExtractionProgress>? progress = null,
        Action<int, int>? onFit = null, CancellationToken cancellation = default)
    {
        var shape = ModelShape.FromManifest(model.Manifest);
        var set = request.Set;
        var activations = QuestionDataset.LastTokenMatrix(model, set, request.WithTrajectory, progress, cancellation);
        onFit?.Invoke(set.Count, activations.Columns);
        var clock = Stopwatch.StartNew();
        var result = L1ProbeTrainer.Train(shape, activations, null, set.Labels, request.Options);
        double seconds = clock.Elapsed.TotalSeconds;
        var evaluation = ClassifierEvaluation.From(L1Probe.Kind, "cross-validation (out-of-fold)", result.OutOfFoldPCorrect, set.Labels, result.Probe.Threshold);
        return new L1ProbeRun(result, evaluation, seconds);
    }
}
