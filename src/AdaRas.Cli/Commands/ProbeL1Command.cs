using System.CommandLine;
using AdaRas.Probing;
using AdaRas.Probing.Features;
using AdaRas.Probing.LinearProbe;
using AdaRas.Workflows;

namespace AdaRas.Cli.Commands;

/// <summary>`adaras probe-l1`: the paper's preliminary L1 probe on last-token activations.</summary>
static class ProbeL1Command
{
    public static Command Create(CliConsole console)
    {
        var model = new ModelOption();
        var data = new Option<string>("--data") { Description = "labelled questions (JSONL: id, question, is_good[, thinking])", Required = true };
        var withTrajectory = new Option<bool>("--with-trajectory")
        {
            Description = "read the last token of \"Question: ...\\nThinking process:...\" (needs a 'thinking' field) instead of the question",
        };
        var output = new Option<string>("--out", "-o") { Description = "probe file to write (probe.bin)", Required = true };
        var report = new Option<string?>("--report") { Description = "JSON report path (default: <out>.report.json)" };
        var roc = new Option<string?>("--roc") { Description = "out-of-fold ROC curve PNG (default: <out>.roc.png)" };
        var force = new Option<bool>("--force") { Description = "replace existing output files" };
        var defaults = new L1ProbeOptions();
        var folds = new Option<int>("--folds") { Description = "stratified cross-validation folds", DefaultValueFactory = _ => defaults.Folds };
        var seed = new Option<int>("--seed") { Description = "fold assignment seed", DefaultValueFactory = _ => defaults.Seed };
        var lambdas = new Option<int>("--lambdas") { Description = "lambdas on the regularisation path", DefaultValueFactory = _ => defaults.LambdaCount };
        var rule = new Option<string>("--lambda-rule") { Description = "1se (sparsest within one standard error) or min (lowest deviance)", DefaultValueFactory = _ => "1se" };
        rule.AcceptOnlyFromAmong("1se", "min");
        var command = new Command("probe-l1", "Train an L1-regularised logistic probe predicting correctness from last-token activations (regularisation path, cross-validation)")
        {
            data, withTrajectory, output, report, roc, force, folds, seed, lambdas, rule,
        };
        model.AddTo(command);
        command.SetAction((parse, cancellation) => Task.FromResult(CommandRunner.Run(console, () =>
        {
            var probePath = parse.GetValue(output)!;
            var reportPath = parse.GetValue(report) ?? OutputFiles.Beside(probePath, ".report.json");
            var rocPath = parse.GetValue(roc) ?? OutputFiles.Beside(probePath, ".roc.png");
            OutputFiles.RefuseExisting(parse.GetValue(force), probePath, reportPath, rocPath);
            bool trajectory = parse.GetValue(withTrajectory);
            var set = LabelledQuestionFile.Load(parse.GetValue(data)!, requireThinking: trajectory).RequireBothClasses();
            var options = new L1ProbeOptions
            {
                Folds = parse.GetValue(folds), Seed = parse.GetValue(seed), LambdaCount = parse.GetValue(lambdas),
                LambdaRule = parse.GetValue(rule) == "min" ? L1LambdaRule.MinimumDeviance : L1LambdaRule.OneStandardError,
            };
            if (options.LambdaCount < 2) throw new AdaRas.Files.UsageException($"--lambdas must be at least 2, got {options.LambdaCount}");
            try { StratifiedFolds.Assign(set.Labels, options.Folds, options.Seed); } // fold problems, before the long pass
            catch (ArgumentException e) { throw new AdaRas.Files.InputException(set.Path, null, e.Message, e); }

            using var m = model.Load(parse, console);
            using var progress = new ExtractionProgressPrinter(console);
            var request = new L1ProbeRequest(set, trajectory, options);
            var run = L1ProbeTraining.Train(m, request, progress, (rows, columns) =>
                console.Error.WriteLine($"fitting the L1 path ({options.LambdaCount} lambdas x {options.Folds + 1} fits) on {rows} x {columns}..."), cancellation);
            run.Probe.Save(probePath);
            ClassifierReports.WriteRoc(run.OutOfFold, rocPath, $"L1 probe, out-of-fold ({set.Name})");
            ClassifierReports.PrintSummary(console, run.OutOfFold.Report);
            console.Error.WriteLine($"{run.Probe.NeuronIds.Count} non-zero neurons at lambda {run.Probe.Lambda:G4}");
            ClassifierReports.Emit(console, ClassifierJson.L1Probe(request, run, probePath, rocPath, parse.GetValue(rule)!, progress.Tokens, progress.Seconds), reportPath);
            return 0;
        })));
        return command;
    }
}
