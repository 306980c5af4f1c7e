using System.CommandLine;
using System.Diagnostics;
using System.Text.Json.Nodes;
using AdaRas.Model;
using AdaRas.Probing.FeatureSelection;
using AdaRas.Probing.Features;
using AdaRas.Probing.Gate;

namespace AdaRas.Cli.Commands;

/// <summary>`adaras gate train` and `adaras gate evaluate`: the adaptive attention gate (DESIGN.md step 5).</summary>
static class GateCommand
{
    public static Command Create(CliConsole console) =>
        new("gate", "Train or evaluate the attention gate that decides, per question, whether to steer")
        {
            CreateTrain(console), CreateEvaluate(console),
        };

    static Command CreateTrain(CliConsole console)
    {
        var model = ModelOption.Create();
        var train = new Option<string>("--train") { Description = "labelled training questions (JSONL: id, question, is_good)", Required = true };
        var validation = new Option<string>("--validation") { Description = "labelled validation questions (early stopping, threshold)", Required = true };
        var features = new Option<string?>("--features") { Description = "feature file from `adaras features select`" };
        var top = new Option<int?>("--top") { Description = "select the top N neurons by F-score on --train instead of --features" };
        var output = new Option<string>("--out", "-o") { Description = "gate file to write (gate.bin)", Required = true };
        var report = new Option<string?>("--report") { Description = "JSON report path (default: <out>.report.json)" };
        var roc = new Option<string?>("--roc") { Description = "validation ROC curve PNG (default: <out>.roc.png)" };
        var force = new Option<bool>("--force") { Description = "replace existing output files" };
        var defaults = new AttentionGateOptions();
        var epochs = new Option<int>("--epochs") { Description = "most epochs", DefaultValueFactory = _ => defaults.MaxEpochs };
        var patience = new Option<int>("--patience") { Description = "stop after this many epochs without a better validation AUROC", DefaultValueFactory = _ => defaults.Patience };
        var seed = new Option<int>("--seed") { Description = "initialisation, shuffling and dropout seed", DefaultValueFactory = _ => defaults.Seed };
        var hidden = new Option<int>("--hidden") { Description = "hidden layer size", DefaultValueFactory = _ => defaults.HiddenSize };
        var dropout = new Option<double>("--dropout") { DefaultValueFactory = _ => defaults.Dropout };
        var learningRate = new Option<double>("--lr") { Description = "Adam learning rate", DefaultValueFactory = _ => defaults.LearningRate };
        var weightDecay = new Option<double>("--weight-decay") { DefaultValueFactory = _ => defaults.WeightDecay };
        var batch = new Option<int>("--batch-size") { Description = "questions per optimiser step", DefaultValueFactory = _ => defaults.BatchSize };
        var command = new Command("train", "Train the attention gate on labelled questions run through the model; writes the gate, a JSON report and a ROC PNG")
        {
            model, train, validation, features, top, output, report, roc, force,
            epochs, patience, seed, hidden, dropout, learningRate, weightDecay, batch,
        };
        command.SetAction((parse, cancellation) => Task.FromResult(CommandRunner.Run(console, () =>
        {
            var options = new AttentionGateOptions
            {
                MaxEpochs = parse.GetValue(epochs), Patience = parse.GetValue(patience), Seed = parse.GetValue(seed),
                HiddenSize = parse.GetValue(hidden), Dropout = parse.GetValue(dropout), LearningRate = parse.GetValue(learningRate),
                WeightDecay = parse.GetValue(weightDecay), BatchSize = parse.GetValue(batch),
            };
            options.Validate();
            var (featureFile, topN) = (parse.GetValue(features), parse.GetValue(top));
            if ((featureFile is null) == (topN is null)) throw new AdaRas.Files.UsageException("give exactly one of --features or --top");
            var gatePath = parse.GetValue(output)!;
            var reportPath = parse.GetValue(report) ?? OutputFiles.Beside(gatePath, ".report.json");
            var rocPath = parse.GetValue(roc) ?? OutputFiles.Beside(gatePath, ".roc.png");
            OutputFiles.RefuseExisting(parse.GetValue(force), gatePath, reportPath, rocPath);
            var trainSet = LabelledQuestionFile.Load(parse.GetValue(train)!).RequireBothClasses();
            var validationSet = LabelledQuestionFile.Load(parse.GetValue(validation)!).RequireBothClasses();

            using var m = ModelOption.Load(parse, model, console);
            var shape = ModelShape.FromManifest(m.Manifest);
            using var progress = new ExtractionProgressPrinter(console);
            SelectedFeatures selected;
            if (featureFile is not null) selected = SelectedFeatures.Load(featureFile, shape);
            else
            {
                if (topN <= 0 || topN > shape.NeuronCount)
                    throw new AdaRas.Files.UsageException($"--top {topN} is outside 1..{shape.NeuronCount} (the model's neurons: {shape})");
                var scores = QuestionDataset.FScores(m, trainSet, progress, cancellation);
                selected = SelectedFeatures.FromScores(shape, scores, topN!.Value, trainSet.Path, trainSet.Correct, trainSet.Incorrect);
            }
            var ids = selected.Ids;
            var trainExamples = QuestionDataset.GateExamples(m, trainSet, ids, progress, cancellation);
            var validationExamples = QuestionDataset.GateExamples(m, validationSet, ids, progress, cancellation);

            var clock = Stopwatch.StartNew();
            var result = AttentionGateTrainer.Train(shape, ids, trainExamples, validationExamples, options,
                e => console.Error.WriteLine($"epoch {e.Epoch,3}: train loss {e.TrainLoss:F4}, validation AUROC {e.ValidationAuroc:F4}"));
            double trainingSeconds = clock.Elapsed.TotalSeconds;
            var gate = result.Gate;
            gate.Save(gatePath);
            var evaluation = gate.Evaluate(validationExamples, "validation");
            ClassifierReports.WriteRoc(evaluation, rocPath, $"Attention gate, validation ({validationSet.Name})");
            ClassifierReports.PrintSummary(console, evaluation.Report);
            ClassifierReports.Emit(console, new JsonObject
            {
                ["command"] = "gate train",
                ["model_id"] = shape.ModelId,
                ["gate"] = Path.GetFullPath(gatePath),
                ["roc_png"] = Path.GetFullPath(rocPath),
                ["train"] = ClassifierReports.Describe(trainSet),
                ["validation"] = ClassifierReports.Describe(validationSet),
                ["features"] = new JsonObject
                {
                    ["count"] = ids.Length,
                    ["source"] = featureFile is not null ? Path.GetFullPath(featureFile) : $"top {topN} by ANOVA F-score on {trainSet.Path}",
                },
                ["threshold"] = gate.Threshold,
                ["metrics"] = ClassifierReports.Metrics(evaluation),
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
                    ["tokens"] = progress.Tokens,
                    ["extraction_seconds"] = progress.Seconds,
                    ["training_seconds"] = trainingSeconds,
                },
            }, reportPath);
            return 0;
        })));
        return command;
    }

    static Command CreateEvaluate(CliConsole console)
    {
        var model = ModelOption.Create();
        var gateFile = new Option<string>("--gate") { Description = "gate file from `adaras gate train`", Required = true };
        var data = new Option<string>("--data") { Description = "labelled questions (JSONL: id, question, is_good)", Required = true };
        var output = new Option<string?>("--out", "-o") { Description = "also write the JSON report here" };
        var roc = new Option<string?>("--roc") { Description = "ROC curve PNG (default: <out>.roc.png, or none without --out)" };
        var force = new Option<bool>("--force") { Description = "replace existing output files" };
        var command = new Command("evaluate", "Score a trained gate on any labelled question set: JSON report (AUROC, accuracy, precision/recall, confusion) and ROC PNG")
        {
            model, gateFile, data, output, roc, force,
        };
        command.SetAction((parse, cancellation) => Task.FromResult(CommandRunner.Run(console, () =>
        {
            var reportPath = parse.GetValue(output);
            var rocPath = parse.GetValue(roc) ?? (reportPath is null ? null : OutputFiles.Beside(reportPath, ".roc.png"));
            OutputFiles.RefuseExisting(parse.GetValue(force), reportPath, rocPath);
            var set = LabelledQuestionFile.Load(parse.GetValue(data)!).RequireBothClasses();
            using var m = ModelOption.Load(parse, model, console);
            var shape = ModelShape.FromManifest(m.Manifest);
            var gate = AttentionGate.Load(parse.GetValue(gateFile)!, shape);
            using var progress = new ExtractionProgressPrinter(console);
            var examples = QuestionDataset.GateExamples(m, set, gate.FeatureIds.ToArray(), progress, cancellation);
            var evaluation = gate.Evaluate(examples, set.Name);
            if (rocPath is not null) ClassifierReports.WriteRoc(evaluation, rocPath, $"Attention gate on {set.Name}");
            ClassifierReports.PrintSummary(console, evaluation.Report);
            ClassifierReports.Emit(console, new JsonObject
            {
                ["command"] = "gate evaluate",
                ["model_id"] = shape.ModelId,
                ["gate"] = Path.GetFullPath(parse.GetValue(gateFile)!),
                ["roc_png"] = rocPath is null ? null : Path.GetFullPath(rocPath),
                ["data"] = ClassifierReports.Describe(set),
                ["features"] = gate.FeatureCount,
                ["threshold"] = gate.Threshold,
                ["metrics"] = ClassifierReports.Metrics(evaluation),
                ["timing"] = new JsonObject { ["tokens"] = progress.Tokens, ["extraction_seconds"] = progress.Seconds },
            }, reportPath);
            return 0;
        })));
        return command;
    }
}
