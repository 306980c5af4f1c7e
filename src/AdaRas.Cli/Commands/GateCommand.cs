using System.CommandLine;
using System.Text.Json.Nodes;
using AdaRas.Model;
using AdaRas.Probing.Features;
using AdaRas.Probing.Gate;
using AdaRas.Workflows;

namespace AdaRas.Cli.Commands;

/// <summary>`adaras gate train` (<see cref="GateTrainCommand"/>) and `adaras gate evaluate`: the adaptive attention gate.</summary>
static class GateCommand
{
    public static Command Create(CliConsole console) =>
        new("gate", "Train or evaluate the attention gate that decides, per question, whether to steer")
        {
            GateTrainCommand.Create(console), CreateEvaluate(console),
        };

    static Command CreateEvaluate(CliConsole console)
    {
        var model = new ModelOption();
        var gateFile = new Option<string>("--gate") { Description = "gate file from `adaras gate train`", Required = true };
        var data = new Option<string>("--data") { Description = "labelled questions (JSONL: id, question, is_good)", Required = true };
        var output = new Option<string?>("--out", "-o") { Description = "also write the JSON report here" };
        var roc = new Option<string?>("--roc") { Description = "ROC curve PNG (default: <out>.roc.png, or none without --out)" };
        var force = new Option<bool>("--force") { Description = "replace existing output files" };
        var command = new Command("evaluate", "Score a trained gate on any labelled question set: JSON report (AUROC, accuracy, precision/recall, confusion) and ROC PNG")
        {
            gateFile, data, output, roc, force,
        };
        model.AddTo(command);
        command.SetAction((parse, cancellation) => Task.FromResult(CommandRunner.Run(console, () =>
        {
            var reportPath = parse.GetValue(output);
            var rocPath = parse.GetValue(roc) ?? (reportPath is null ? null : OutputFiles.Beside(reportPath, ".roc.png"));
            OutputFiles.RefuseExisting(parse.GetValue(force), reportPath, rocPath);
            var set = LabelledQuestionFile.Load(parse.GetValue(data)!).RequireBothClasses();
            using var m = model.Load(parse, console);
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
                ["data"] = ClassifierJson.Describe(set),
                ["features"] = gate.FeatureCount,
                ["threshold"] = gate.Threshold,
                ["metrics"] = ClassifierJson.Metrics(evaluation),
                ["timing"] = new JsonObject { ["tokens"] = progress.Tokens, ["extraction_seconds"] = progress.Seconds },
            }, reportPath);
            return 0;
        })));
        return command;
    }
}
