using System.CommandLine;
using System.Text.Json.Nodes;
using AdaRas.Model;
using AdaRas.Probing.FeatureSelection;
using AdaRas.Probing.Features;
using AdaRas.Workflows;

namespace AdaRas.Cli.Commands;

/// <summary>`adaras features select`: the gate's input neurons by ANOVA F-score (docs/ARCHITECTURE.md, method step 5).</summary>
static class FeaturesCommand
{
    public static Command Create(CliConsole console)
    {
        var model = new ModelOption();
        var train = new Option<string>("--train") { Description = "labelled training questions (JSONL: id, question, is_good)", Required = true };
        var top = new Option<int>("--top") { Description = "number of neurons to keep (N)", Required = true };
        var output = new Option<string>("--out", "-o") { Description = "feature file to write (features.json)", Required = true };
        var force = new Option<bool>("--force") { Description = "replace an existing output file" };
        var select = new Command("select", "Pick the top-N neurons by ANOVA F-score over token-mean-pooled training questions")
        {
            train, top, output, force,
        };
        model.AddTo(select);
        select.SetAction((parse, cancellation) => Task.FromResult(CommandRunner.Run(console, () =>
        {
            var outPath = parse.GetValue(output)!;
            OutputFiles.RefuseExisting(parse.GetValue(force), outPath);
            var questions = LabelledQuestionFile.Load(parse.GetValue(train)!);
            using var m = model.Load(parse, console);
            var shape = ModelShape.FromManifest(m.Manifest);
            int n = parse.GetValue(top);
            if (n <= 0 || n > shape.NeuronCount)
                throw new AdaRas.Files.UsageException($"--top {n} is outside 1..{shape.NeuronCount} (the model's neurons: {shape})");

            using var progress = new ExtractionProgressPrinter(console);
            var scores = QuestionDataset.FScores(m, questions, progress, cancellation);
            var selected = SelectedFeatures.FromScores(shape, scores, n, questions.Path, questions.Correct, questions.Incorrect);
            selected.Save(outPath);
            ClassifierReports.Emit(console, new JsonObject
            {
                ["command"] = "features select",
                ["model_id"] = shape.ModelId,
                ["features"] = Path.GetFullPath(outPath),
                ["train"] = ClassifierJson.Describe(questions),
                ["top"] = n,
                ["best"] = new JsonArray(selected.Features.Take(10).Select(f => (JsonNode)new JsonObject
                {
                    ["id"] = f.Id, ["layer"] = f.Layer, ["index"] = f.Index,
                    ["f_score"] = double.IsFinite(f.FScore) ? f.FScore : null,
                }).ToArray()),
                ["tokens"] = progress.Tokens,
                ["extraction_seconds"] = progress.Seconds,
            }, null);
            return 0;
        })));
        return new Command("features", "Feature selection for the adaptive gate") { select };
    }
}
