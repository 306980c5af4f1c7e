using System.Text.Json;
using System.Text.Json.Nodes;
using AdaRas.Probing.Features;
using AdaRas.Probing.Metrics;

namespace AdaRas.Workflows;

/// <summary>The JSON reports of <c>gate train</c>, <c>gate evaluate</c> and <c>probe-l1</c>, and the parts they share.</summary>
internal static class ClassifierJson
{
    /// <summary>
    /// Metrics at the classifier's threshold (AUROC, accuracy, precision, recall, specificity, steer rate, confusion
    /// counts) and the ROC curve's points.
    /// </summary>
    public static JsonObject Metrics(ClassifierEvaluation evaluation)
    {
        var metrics = JsonSerializer.SerializeToNode(evaluation.Report, ClassifierReport.JsonOptions)!.AsObject();
        metrics["roc"] = new JsonObject
        {
            // The first ROC point has threshold +infinity (nothing called correct); JSON has no infinity, so only rates.
            ["fpr"] = new JsonArray(evaluation.Roc.Select(p => (JsonNode)p.FalsePositiveRate).ToArray()),
            ["tpr"] = new JsonArray(evaluation.Roc.Select(p => (JsonNode)p.TruePositiveRate).ToArray()),
        };
        return metrics;
    }

    public static JsonObject Describe(LabelledQuestionSet set) => new()
    {
        ["file"] = set.Path, ["questions"] = set.Count, ["correct"] = set.Correct, ["incorrect"] = set.Incorrect,
    };

    /// <summary>The report of a trained gate (<see cref="GateTraining.Train"/>).</summary>
    public static JsonObject GateTraining(GateTrainingRequest request, GateTrainingResult result, string gatePath, string rocPath,
        long extractionTokens, double extractionSeconds)
    {
        var (gate, options) = (result.Gate, request.Options);
        return new JsonObject
        {
            ["command"] = "gate train",
            ["model_id"] = gate.Model.ModelId,
            ["gate"] = Path.GetFullPath(gatePath),
            ["roc_png"] = Path.GetFullPath(rocPath),
            ["train"] = Describe(request.Train),
            ["validation"] = Describe(request.Validation),
            ["features"] = new JsonObject
            {
                ["count"] = result.Features.Ids.Length,
                ["source"] = request.FeaturesPath is { } file ? Path.GetFullPath(file) : $"top {request.Top} by ANOVA F-score on {request.Train.Path}",
            },
            ["threshold"] = gate.Threshold,
            ["metrics"] = Metrics(result.Validation),
            ["training"] = new JsonObject
            {
                ["epochs"] = gate.Training.Epochs,
                ["best_epoch"] = gate.Training.BestEpoch,
                ["best_validation_auroc"] = gate.Training.BestValidationAuroc,
                ["pos_weight"] = gate.Training.PosWeight,
                ["hidden_size"] = gate.HiddenSize, ["dropout"] = gate.Dropout,
                ["learning_rate"] = options.LearningRate, ["weight_decay"] = options.WeightDecay,
                ["batch_size"] = options.BatchSize, ["seed"] = options.Seed,
                ["history"] = new JsonArray(result.History.Select(e => (JsonNode)new JsonObject
                {
                    ["epoch"] = e.Epoch, ["train_loss"] = e.TrainLoss, ["validation_auroc"] = e.ValidationAuroc,
                }).ToArray()),
            },
            ["timing"] = new JsonObject
            {
                ["tokens"] = extractionTokens,
                ["extraction_seconds"] = extractionSeconds,
                ["training_seconds"] = result.TrainingSeconds,
            },
        };
    }

    /// <summary>The report of a fitted L1 probe (<see cref="L1ProbeTraining.Train"/>); <paramref name="rule"/> as the user spelled it.</summary>
    public static JsonObject L1Probe(L1ProbeRequest request, L1ProbeRun run, string probePath, string rocPath, string rule,
        long extractionTokens, double extractionSeconds)
    {
        var probe = run.Probe;
        var shape = probe.Model;
        return new JsonObject
        {
            ["command"] = "probe-l1",
            ["model_id"] = shape.ModelId,
            ["probe"] = Path.GetFullPath(probePath),
            ["roc_png"] = Path.GetFullPath(rocPath),
            ["data"] = Describe(request.Set),
            ["input"] = request.WithTrajectory ? "last token of question + thinking" : "last token of the question",
            ["threshold"] = probe.Threshold,
            ["lambda"] = probe.Lambda,
            ["nonzero_neurons"] = probe.NeuronIds.Count,
            ["metrics"] = Metrics(run.OutOfFold),
            ["neurons"] = new JsonArray(probe.NeuronIds.Select((id, k) =>
            {
                var (layer, index) = shape.Locate(id);
                return (JsonNode)new JsonObject { ["id"] = id, ["layer"] = layer, ["index"] = index, ["weight"] = probe.Weights[k] };
            }).ToArray()),
            ["path"] = new JsonObject
            {
                ["rule"] = rule,
                ["chosen_index"] = run.Training.ChosenIndex,
                ["points"] = new JsonArray(run.Training.Path.Select(p => (JsonNode)new JsonObject
                {
                    ["lambda"] = p.Lambda, ["nonzero"] = p.NonZeroCount, ["cv_deviance"] = p.CrossValidatedDeviance,
                    ["cv_deviance_se"] = p.CrossValidatedDevianceError, ["cv_auroc"] = p.CrossValidatedAuroc,
                }).ToArray()),
            },
            ["timing"] = new JsonObject
            {
                ["tokens"] = extractionTokens, ["extraction_seconds"] = extractionSeconds, ["fit_seconds"] = run.FitSeconds,
            },
        };
    }
}
