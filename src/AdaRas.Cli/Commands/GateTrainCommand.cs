using System.CommandLine;
using AdaRas.Probing.Features;
using AdaRas.Workflows;

namespace AdaRas.Cli.Commands;

/// <summary>`adaras gate train`: the adaptive attention gate (docs/ARCHITECTURE.md, method step 5).</summary>
static class GateTrainCommand
{
    public static Command Create(CliConsole console)
    {
        var model = new ModelOption();
        var train = new Option<string>("--train") { Description = "labelled training questions (JSONL: id, question, is_good)", Required = true };
        var validation = new Option<string>("--validation") { Description = "labelled validation questions (early stopping, threshold)", Required = true };
        var features = new Option<string?>("--features") { Description = "feature file from `adaras features select`" };
        var top = new Option<int?>("--top") { Description = "select the top N neurons by F-score on --train instead of --features" };
        var output = new Option<string>("--out", "-o") { Description = "gate file to write (gate.bin)", Required = true };
        var report = new Option<string?>("--report") { Description = "JSON report path (default: <out>.report.json)" };
        var roc = new Option<string?>("--roc") { Description = "validation ROC curve PNG (default: <out>.roc.png)" };
        var force = new Option<bool>("--force") { Description = "replace existing output files" };
        var options = new GateTrainingOptions();
        var command = new Command("train", "Train the attention gate on labelled questions run through the model; writes the gate, a JSON report and a ROC PNG")
        {
            train, validation, features, top, output, report, roc, force,
        };
        options.AddTo(command);
        model.AddTo(command);
        command.SetAction((parse, cancellation) => Task.FromResult(CommandRunner.Run(console, () =>
        {
            var trainingOptions = options.Read(parse);
            var (featureFile, topN) = (parse.GetValue(features), parse.GetValue(top));
            if ((featureFile is null) == (topN is null)) throw new AdaRas.Files.UsageException("give exactly one of --features or --top");
            var gatePath = parse.GetValue(output)!;
            var reportPath = parse.GetValue(report) ?? OutputFiles.Beside(gatePath, ".report.json");
            var rocPath = parse.GetValue(roc) ?? OutputFiles.Beside(gatePath, ".roc.png");
            OutputFiles.RefuseExisting(parse.GetValue(force), gatePath, reportPath, rocPath);
            var request = new GateTrainingRequest(
                LabelledQuestionFile.Load(parse.GetValue(train)!).RequireBothClasses(),
                LabelledQuestionFile.Load(parse.GetValue(validation)!).RequireBothClasses())
            {
                FeaturesPath = featureFile, Top = topN, Options = trainingOptions,
            };

            using var m = model.Load(parse, console);
            using var progress = new ExtractionProgressPrinter(console);
            var result = GateTraining.Train(m, request, progress,
                e => console.Error.WriteLine($"epoch {e.Epoch,3}: train loss {e.TrainLoss:F4}, validation AUROC {e.ValidationAuroc:F4}"), cancellation);
            result.Gate.Save(gatePath);
            ClassifierReports.WriteRoc(result.Validation, rocPath, $"Attention gate, validation ({request.Validation.Name})");
            ClassifierReports.PrintSummary(console, result.Validation.Report);
            ClassifierReports.Emit(console, ClassifierJson.GateTraining(request, result, gatePath, rocPath, progress.Tokens, progress.Seconds), reportPath);
            return 0;
        })));
        return command;
    }
}
