using System.Globalization;
using System.Text;
using System.Text.Json;
using AdaRas.Engine;
using AdaRas.Evaluation.Benchmarks;
using AdaRas.Evaluation.Experiments;
using AdaRas.Evaluation.Reports;
using AdaRas.Workflows;
using AdaRas.Model;
using AdaRas.Probing.Features;
using AdaRas.Probing.Gate;
using AdaRas.Probing.Metrics;
using AdaRas.Steering.Plans;
using AdaRas.Steering.Rcn;

namespace AdaRas.Evaluation.Demo;

/// <summary>Counts of the contrastive sampling stage.</summary>
internal sealed record ContrastiveStats(int Questions, int Generated, int Correct, int Unfinished, int MixedQuestions, int Kept);

/// <summary>The steering chosen on validation questions.</summary>
internal sealed record DemoChoice(int Neurons, double Alpha);

/// <summary>What the demo found: the held-out comparison, its controls and where its report is.</summary>
internal sealed record DemoResult(string Folder, string ReportPath, ComparisonReport Test, SweepRow Chosen, ClassifierReport Gate, Controls Controls,
    QuantizedSteering Quantized);

/// <summary>
/// The whole AdaRAS method on the embedded demo model, end to end, as the README's main job:
/// <list type="number">
/// <item>export the checkpoint;</item>
/// <item>sample a contrastive set from the model itself (several trajectories per training question, labelled by their boxed answers);</item>
/// <item>identify reasoning-critical neurons from it (teacher forcing through the graph's sum tap, ILGPU kernels);</item>
/// <item>label further training questions and the validation questions by the model's greedy correctness, and train the
///   attention gate on them (ANOVA F-score features, threshold by Youden's J on validation);</item>
/// <item>sweep alpha and K (and try the other methods and positions) on the validation questions only;</item>
/// <item>run control, steered and adaptive on the held-out test questions and compare them (paired flips, McNemar);</item>
/// <item>repeat those three runs on int8 and int4 exports with the same steering (does it survive quantization?).</item>
/// </list>
/// Every stage writes its output into the demo folder and a rerun reuses it, so an interrupted demo resumes; a folder
/// made with other options is refused rather than mixed.
/// </summary>
internal static class DemoPipeline
{
    const string StateFile = "demo.json";

    /// <param name="modelOptions">Where the model runs (the execution provider); CPU by default.</param>
    // One method on purpose: the stages read top to bottom as the README describes the method, and each stage is a
    // call into the libraries and the workflow layer (GateTraining, SteeringSweep, ExperimentRunner).
    public static DemoResult Run(string checkpoint, string folder, DemoOptions options, bool force, Action<string> log,
        Action<string>? status = null, CancellationToken cancellation = default, ModelOptions? modelOptions = null)
    {
        options.Validate();
        status ??= _ => { };
        folder = Path.GetFullPath(folder);
        var clock = System.Diagnostics.Stopwatch.StartNew();

        log("1/8 export");
        using var model = ModelOpening.Open(checkpoint, modelOptions);
        PrepareFolder(folder, checkpoint, model.Manifest.ModelId, options, force);
        var exported = model.Folder;
        log($"    {model.Manifest.ModelId}: {model.Manifest.NumLayers} layers x {model.Manifest.IntermediateSize} neurons ({exported})");

        var train = BenchmarkFile.Load(Path.Combine(checkpoint, "train.jsonl"), BenchmarkTask.Math).Samples;
        var validation = BenchmarkFile.Load(Path.Combine(checkpoint, "validation.jsonl"), BenchmarkTask.Math).Samples.Take(options.ValidationQuestions).ToList();
        var test = BenchmarkFile.Load(Path.Combine(checkpoint, "test.jsonl"), BenchmarkTask.Math).Samples.Take(options.TestQuestions).ToList();
        if (train.Count < options.ContrastiveQuestions + options.GateTrainQuestions)
            throw new ArgumentException($"{checkpoint}/train.jsonl has {train.Count} questions; the demo needs {options.ContrastiveQuestions + options.GateTrainQuestions}");

        log("2/8 contrastive set (sampled from the model, labelled by checking the boxed answer)");
        var contrastivePath = Path.Combine(folder, "contrastive.jsonl");
        var contrastiveStats = Stage(folder, "contrastive-stats.json", () =>
        {
            var sampled = ContrastiveSampler.Sample(model, train.Take(options.ContrastiveQuestions).ToList(), options.SamplesPerQuestion,
                options.SamplingTemperature, options.MaxNewTokens, options.Seed,
                new InlineProgress<SamplingProgress>(p => status($"    sampling {p.Done}/{p.Total} questions, {p.TokensPerSecond:F0} tok/s, ETA {Eta(p.Eta)}")),
                cancellation, options.BatchSize);
            ContrastiveSampler.Write(contrastivePath, sampled.Kept);
            return new ContrastiveStats(sampled.Questions, sampled.Generated, sampled.Correct, sampled.Unfinished, sampled.MixedQuestions, sampled.Kept.Count);
        });
        log($"    {contrastiveStats.Generated} trajectories at temperature {options.SamplingTemperature}: {contrastiveStats.Correct} correct, " +
            $"{contrastiveStats.Unfinished} unfinished; {contrastiveStats.MixedQuestions} questions answered both ways; kept {contrastiveStats.Kept} (balanced per question)");

        log("3/8 reasoning-critical neurons (mu+ vs mu- of per-trajectory mean activations, ranked by polarity-aware r)");
        var patternPath = Path.Combine(folder, "pattern.csv");
        if (!File.Exists(patternPath))
        {
            var identifier = new RcnIdentifier(model);
            identifier.Identify(ContrastiveSet.Load(contrastivePath), patternPath,
                new IdentifyOptions { Top = options.PatternTop ?? model.Manifest.NumLayers * model.Manifest.IntermediateSize, CacheFolder = Path.Combine(folder, "pattern.cache"), ModelName = "adaras-demo" },
                progress: new InlineProgress<IdentifyProgress>(p => status("    " + p)), cancellation: cancellation);
        }
        var pattern = AdaRas.Steering.Patterns.RcnPattern.Load(patternPath, ModelShape.FromManifest(model.Manifest));
        log($"    {pattern.Neurons.Count} neurons in {patternPath}; top: " +
            string.Join(", ", pattern.Neurons.Take(5).Select(n => $"L{n.Layer}#{n.Index} (r {n.Relative:F3}, delta {n.Delta:+0.0000;-0.0000;0.0000})")));

        var runner = new ExperimentRunner(Path.Combine(folder, "runs"));
        var greedy = new GenerationSettings { MaxNewTokens = options.MaxNewTokens, DoSample = false, Seed = options.Seed };
        ExperimentConfig Config(string name, string samples, InterventionSettings? intervention = null, GateSettings? gate = null) => new()
        {
            Name = name, Model = exported, SamplePath = samples, Task = BenchmarkTask.Math, Generation = greedy,
            Intervention = intervention ?? new InterventionSettings(), Gate = gate,
        };
        ExperimentSummary RunConfig(ExperimentConfig config)
        {
            using var source = new EngineAnswerSource(model, config);
            return runner.Run(config, source, new ExperimentRunOptions
            {
                BatchSize = options.BatchSize,
                Progress = p => status($"    {config.Name}: {p.Done}/{p.Total}, accuracy so far {Percent(p.Correct, p.Done)}, {p.SamplesPerSecond:F1} samples/s, ETA {Eta(p.Eta)}"),
            }, cancellation);
        }

        log("4/8 gate (labels: the model's greedy correctness; features: ANOVA F-score top N; threshold: Youden's J on validation)");
        var questionsFolder = Path.Combine(folder, "questions");
        var gateTrainQuestions = WriteQuestions(Path.Combine(questionsFolder, "gate-train.jsonl"),
            train.Skip(options.ContrastiveQuestions).Take(options.GateTrainQuestions));
        var validationQuestions = WriteQuestions(Path.Combine(questionsFolder, "validation.jsonl"), validation);
        var testQuestions = WriteQuestions(Path.Combine(questionsFolder, "test.jsonl"), test);
        var gateTrainControl = RunConfig(Config("gate-train-control", gateTrainQuestions));
        var validationControl = RunConfig(Config("validation-control", validationQuestions));
        var gateFolder = Path.Combine(folder, "gate");
        var gatePath = Path.Combine(gateFolder, "gate.bin");
        var gateReport = Stage(gateFolder, "gate-report.json", () =>
        {
            var trainSet = WriteLabels(Path.Combine(gateFolder, "train-labels.jsonl"), runner, gateTrainControl.Name,
                train.Skip(options.ContrastiveQuestions).Take(options.GateTrainQuestions).ToList());
            var validationSet = WriteLabels(Path.Combine(gateFolder, "validation-labels.jsonl"), runner, validationControl.Name, validation);
            var request = new GateTrainingRequest(trainSet, validationSet)
            {
                Top = options.GateFeatures,
                Options = new AttentionGateOptions { MaxEpochs = options.GateMaxEpochs, Seed = options.Seed },
            };
            var trained = GateTraining.Train(model, request,
                new InlineProgress<ExtractionProgress>(p => status($"    {p.Stage}: {p.Done}/{p.Total} questions, {p.TokensPerSecond:F0} tok/s")),
                e => status($"    gate epoch {e.Epoch}: train loss {e.TrainLoss:F4}, validation AUROC {e.ValidationAuroc:F3}"), cancellation);
            trained.Features.Save(Path.Combine(gateFolder, "features.json"));
            trained.Gate.Save(gatePath);
            var evaluation = trained.Validation;
            Plots.Roc(evaluation.Roc.Select(p => p.FalsePositiveRate).ToArray(), evaluation.Roc.Select(p => p.TruePositiveRate).ToArray(),
                Path.Combine(gateFolder, "roc.png"), evaluation.Report.Auroc, evaluation.OperatingPoint, "Demo gate on validation questions");
            return evaluation.Report;
        }, ClassifierReport.JsonOptions);
        log($"    validation AUROC {gateReport.Auroc:F3}, threshold {gateReport.Threshold:F4}, steers {100 * gateReport.SteerRate:F0}% " +
            $"(labels: greedy accuracy {Percent(gateTrainControl.Correct, gateTrainControl.Finished)} on gate-train, {Percent(validationControl.Correct, validationControl.Finished)} on validation)");

        log($"5/8 steering sweep on the {validation.Count} validation questions (test questions are not used to choose)");
        var steeredBase = Config("validation-steered", validationQuestions, Intervention(patternPath, options.Neurons[0], options.Alphas[0]));
        var points = SteeringSweep.Grid(steeredBase, options.Alphas, options.Neurons);
        var sweep = SteeringSweep.Run(model, steeredBase, points, runner, new ExperimentRunOptions
        {
            BatchSize = options.BatchSize,
            Progress = p => status($"    sweep: {p.Done}/{p.Total}, accuracy so far {Percent(p.Correct, p.Done)}, {p.SamplesPerSecond:F1} samples/s"),
        }, p => status($"    K={p.Neurons} alpha={p.Alpha}"), cancellation);
        sweep.Write(Path.Combine(folder, "sweep"));
        // Best validation accuracy; ties go to the weaker intervention (smaller alpha, then fewer neurons).
        var chosen = sweep.Rows.OrderByDescending(r => r.Correct).ThenBy(r => r.Alpha).ThenBy(r => r.Neurons).First();
        log($"    control {Percent(validationControl.Correct, validationControl.Finished)}; " +
            string.Join("; ", sweep.Rows.Select(r => $"K={r.Neurons} alpha={r.Alpha}: {Percent(r.Correct, r.Finished)}")));
        log($"    chosen on validation: K={chosen.Neurons}, alpha={chosen.Alpha}");
        AtomicFile.WriteAllText(Path.Combine(folder, ChoiceFile), JsonSerializer.Serialize(new DemoChoice(chosen.Neurons, chosen.Alpha)));

        var variants = new List<(string Label, ExperimentSummary Summary)>();
        foreach (var (label, method, positions) in new[]
                 {
                     ("linear_blend (alpha capped at 1), last", SteeringMethod.LinearBlend, SteeringPositions.Last),
                     ("softplus_add, last", SteeringMethod.SoftplusAdd, SteeringPositions.Last),
                     ("steering_add, all positions", SteeringMethod.SteeringAdd, SteeringPositions.All),
                 })
        {
            // linear_blend's alpha is a mixing weight in [0, 1]; larger sweep values are capped there.
            double alpha = method == SteeringMethod.LinearBlend ? Math.Min(chosen.Alpha, 1.0) : chosen.Alpha;
            var name = $"validation-{method.ToName()}-{positions.ToString().ToLowerInvariant()}-k{chosen.Neurons}-a{alpha.ToString(CultureInfo.InvariantCulture)}";
            variants.Add((label, RunConfig(Config(name, validationQuestions, Intervention(patternPath, chosen.Neurons, alpha, method, positions)))));
        }
        log("    other methods at the chosen K and alpha: " + string.Join("; ", variants.Select(v => $"{v.Label}: {Percent(v.Summary.Correct, v.Summary.Finished)}")));

        log($"6/8 held-out test on {test.Count} questions: control, steered, adaptive; sign control (-alpha); random-neuron control ({options.RandomSeeds} seeds)");
        var intervention = Intervention(patternPath, chosen.Neurons, chosen.Alpha);
        var controlsFolder = Path.Combine(folder, "controls");
        var runs = new List<(string Name, InterventionSettings? Intervention, GateSettings? Gate)>
        {
            ("test-control", null, null),
            ("test-steered", intervention, null),
            ("test-adaptive", intervention, new GateSettings { File = gatePath }),
            ("test-sign", intervention with { Strength = -chosen.Alpha }, null),
        };
        for (int seed = 1; seed <= options.RandomSeeds; seed++)
        {
            var randomPattern = ControlPatterns.Random(pattern, chosen.Neurons, seed, Path.Combine(controlsFolder, $"random-{seed}.csv"));
            runs.Add(($"test-random-{seed}", intervention with { PatternPath = randomPattern }, null));
        }
        foreach (var (name, steer, gate) in runs) RunConfig(Config(name, testQuestions, steer, gate));
        var results = runs.Select(r => RunResults.Load(Path.Combine(runner.ResultsRoot, r.Name), r.Name)).ToList();
        var comparison = ComparisonReport.Compare(results);
        var reportFolder = Path.Combine(folder, "report");
        comparison.Write(reportFolder);
        var controls = Controls.Of(results, options.Criteria);
        foreach (var line in controls.Lines()) log("    " + line);

        log("7/8 why it works: top RCN activations along correct and incorrect trajectories");
        int shown = Math.Min(chosen.Neurons, 8);
        var traces = ActivationTraces.Compute(model, ContrastiveSet.Load(contrastivePath), pattern.Neurons.Take(shown).ToList(), options.TraceQuestions, cancellation);
        ActivationTraces.Plot(traces, shown, Path.Combine(reportFolder, "activations.png"));

        log($"8/8 quantized: the same steering (pattern, K, alpha, gate) on {string.Join(" and ", options.Precisions)} exports of the checkpoint");
        RunResults Test(string name) => results.Single(r => r.Name == name);
        var quantized = QuantizedSteering.Run(checkpoint, options.Precisions,
            PrecisionRow.Of("fp32", Test("test-control"), Test("test-steered"), Test("test-adaptive")), testQuestions, runner.ResultsRoot, patternPath,
            new DemoChoice(chosen.Neurons, chosen.Alpha), gatePath, options.MaxNewTokens, options.BatchSize, modelOptions, status, cancellation);
        foreach (var line in quantized.Lines()) log("    " + line);

        var reportPath = Path.Combine(folder, "demo.md");
        AtomicFile.WriteAllText(reportPath, Summary(options, contrastiveStats, pattern, gateReport, validationControl, sweep, chosen, variants, comparison,
            controls, quantized, clock.Elapsed));
        log($"done in {clock.Elapsed.TotalSeconds:F0} s: {reportPath}");
        return new DemoResult(folder, reportPath, comparison, chosen, gateReport, controls, quantized);
    }

    /// <summary>
    /// One greedy run over a question file, steered with the top <paramref name="neurons"/> of a pattern at
    /// <paramref name="alpha"/> (steering_add, last position), gated when <paramref name="gatePath"/> is given, or
    /// unsteered when <paramref name="patternPath"/> is null: the demo's test runs, repeated elsewhere (the CI check
    /// that a broken pattern loses the effect, the quantized precisions).
    /// </summary>
    internal static RunResults RunSteered(LanguageModel model, string questions, string runsRoot, string name, string? patternPath,
        int neurons, double alpha, string? gatePath, int maxNewTokens, int batchSize, CancellationToken cancellation = default)
    {
        var config = new ExperimentConfig
        {
            Name = name, Model = model.Folder, SamplePath = questions, Task = BenchmarkTask.Math,
            Generation = new GenerationSettings { MaxNewTokens = maxNewTokens, DoSample = false },
            Intervention = patternPath is null ? new InterventionSettings() : Intervention(patternPath, neurons, alpha),
            Gate = gatePath is null ? null : new GateSettings { File = gatePath },
        };
        var runner = new ExperimentRunner(runsRoot);
        using (var source = new EngineAnswerSource(model, config))
            runner.Run(config, source, new ExperimentRunOptions { BatchSize = batchSize }, cancellation);
        return RunResults.Load(Path.Combine(runsRoot, name), name);
    }

    /// <summary>The file in a demo folder holding the K and alpha chosen on validation.</summary>
    internal const string ChoiceFile = "choice.json";

    static InterventionSettings Intervention(string pattern, int neurons, double alpha, SteeringMethod method = SteeringMethod.SteeringAdd,
        SteeringPositions positions = SteeringPositions.Last) => new()
    {
        Enabled = true, PatternPath = pattern, NumNeurons = neurons, Strength = alpha, Method = method, Positions = positions,
    };

    /// <summary>
    /// A folder is resumed only when it holds a demo of the same model (its identity hash: the weights, not the path)
    /// made with the same options; anything else is refused, or started over with --force.
    /// </summary>
    static void PrepareFolder(string folder, string checkpoint, string modelId, DemoOptions options, bool force)
    {
        var statePath = Path.Combine(folder, StateFile);
        var state = JsonSerializer.Serialize(new { options_hash = options.Hash(), model_id = modelId, checkpoint = Path.GetFullPath(checkpoint), options },
            new JsonSerializerOptions { WriteIndented = true });
        if (Directory.Exists(folder) && Directory.EnumerateFileSystemEntries(folder).Any())
        {
            bool same = File.Exists(statePath) && JsonDocument.Parse(File.ReadAllText(statePath)).RootElement is var saved
                && saved.TryGetProperty("options_hash", out var hash) && hash.GetString() == options.Hash()
                && saved.TryGetProperty("model_id", out var id) && id.GetString() == modelId;
            if (!same && !force)
                throw new IOException($"{folder}: holds a demo made with another model or other options (or other files); pass --force to start it over, or choose another --out");
            if (!same) Directory.Delete(folder, recursive: true);
        }
        Directory.CreateDirectory(folder);
        AtomicFile.WriteAllText(statePath, state);
    }

    /// <summary>Runs a stage once: its result is stored as JSON in the folder and read back on reruns.</summary>
    static T Stage<T>(string folder, string file, Func<T> run, JsonSerializerOptions? json = null)
    {
        json ??= new JsonSerializerOptions { WriteIndented = true };
        var path = Path.Combine(folder, file);
        if (!File.Exists(path))
        {
            Directory.CreateDirectory(folder);
            AtomicFile.WriteAllText(path, JsonSerializer.Serialize(run(), json));
        }
        return JsonSerializer.Deserialize<T>(File.ReadAllText(path), json)!;
    }

    /// <summary>Benchmark-format question file (id, question, answer) for a run over these samples.</summary>
    static string WriteQuestions(string path, IEnumerable<BenchmarkSample> samples)
    {
        var text = new StringBuilder();
        foreach (var s in samples)
            text.AppendLine(JsonSerializer.Serialize(new { id = s.Id, question = s.Question, answer = s.Answer }));
        if (!File.Exists(path) || File.ReadAllText(path) != text.ToString()) AtomicFile.WriteAllText(path, text.ToString());
        return path;
    }

    /// <summary>The paper's gate labels: is_good = whether the model's greedy answer to the question was right.</summary>
    static LabelledQuestionSet WriteLabels(string path, ExperimentRunner runner, string runName, IReadOnlyList<BenchmarkSample> samples)
    {
        var questions = samples.ToDictionary(s => s.Id);
        var text = new StringBuilder();
        foreach (var r in RunResults.Load(Path.Combine(runner.ResultsRoot, runName), runName).Records.OrderBy(r => r.Index))
            text.AppendLine(JsonSerializer.Serialize(new { id = r.Id, question = questions[r.Id].Question, is_good = r.Correct }));
        AtomicFile.WriteAllText(path, text.ToString());
        return LabelledQuestionFile.Load(path).RequireBothClasses();
    }

    static string Summary(DemoOptions o, ContrastiveStats contrastive, AdaRas.Steering.Patterns.RcnPattern pattern, ClassifierReport gate,
        ExperimentSummary validationControl, SweepReport sweep, SweepRow chosen, List<(string Label, ExperimentSummary Summary)> variants,
        ComparisonReport test, Controls controls, QuantizedSteering quantized, TimeSpan elapsed)
    {
        var md = new StringBuilder();
        md.AppendLine("# AdaRAS demo on the embedded tiny Qwen3 reasoner");
        md.AppendLine();
        md.AppendLine($"Ran in {elapsed.TotalSeconds:F0} s on {Environment.ProcessorCount} cores (options hash {o.Hash()}).");
        md.AppendLine();
        md.AppendLine("## Contrastive set");
        md.AppendLine($"{contrastive.Questions} training questions x {o.SamplesPerQuestion} samples at temperature {o.SamplingTemperature}: " +
                      $"{contrastive.Generated} trajectories, {contrastive.Correct} correct, {contrastive.Unfinished} unfinished; " +
                      $"{contrastive.MixedQuestions} questions answered both ways; {contrastive.Kept} trajectories kept (balanced per question).");
        md.AppendLine();
        md.AppendLine("## Reasoning-critical neurons (top 10 of the pattern)");
        md.AppendLine();
        md.AppendLine("| rank | layer | neuron | mu+ | mu- | delta | r |");
        md.AppendLine("|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var (n, k) in pattern.Neurons.Take(10).Select((n, k) => (n, k)))
            md.AppendLine($"| {k + 1} | {n.Layer} | {n.Index} | {n.MuPlus:F4} | {n.MuMinus:F4} | {n.Delta:F4} | {n.Relative:F3} |");
        md.AppendLine();
        md.AppendLine("## Gate (validation questions)");
        md.AppendLine($"AUROC {gate.Auroc:F3}; at threshold {gate.Threshold:F4}: accuracy {gate.Accuracy:F3}, steers {100 * gate.SteerRate:F0}% " +
                      $"(tp {gate.TruePositives}, fp {gate.FalsePositives}, tn {gate.TrueNegatives}, fn {gate.FalseNegatives}). ROC: `gate/roc.png`.");
        md.AppendLine();
        md.AppendLine("## Steering sweep (validation questions; chooses K and alpha)");
        md.AppendLine();
        md.AppendLine($"Control on validation: {Percent(validationControl.Correct, validationControl.Finished)}.");
        md.AppendLine();
        md.AppendLine(sweep.ToMarkdown().TrimEnd());
        md.AppendLine();
        md.AppendLine($"Chosen: K = {chosen.Neurons}, alpha = {chosen.Alpha} (plot: `sweep/sweep.png`). The test runs keep the paper's method and positions " +
                      "(steering_add at the last position); the other methods and positions at that K and alpha, on the same validation questions:");
        md.AppendLine();
        md.AppendLine("| variant | validation accuracy |");
        md.AppendLine("|---|---:|");
        foreach (var (label, s) in variants) md.AppendLine($"| {label} | {Percent(s.Correct, s.Finished)} |");
        md.AppendLine();
        md.AppendLine("## Held-out test: control, steered, adaptive, and the controls");
        md.AppendLine();
        md.AppendLine($"K = {chosen.Neurons}, alpha = {chosen.Alpha}, steering_add at the last position (chosen on validation). " +
                      "test-sign steers the same neurons with -alpha; test-random-N steers K neurons drawn at random (seed N) from the same layers, " +
                      "each with its own delta. Sign and random controls steer every question, like test-steered.");
        md.AppendLine();
        md.AppendLine(test.ToMarkdown().TrimEnd());
        md.AppendLine();
        md.AppendLine("## Checks");
        md.AppendLine();
        foreach (var line in controls.Lines()) md.AppendLine("- " + line);
        md.AppendLine();
        md.AppendLine(quantized.ToMarkdown().TrimEnd());
        md.AppendLine();
        md.AppendLine("Plots: `report/accuracy.png`, `report/tokens.png`, `report/activations.png` (top RCNs along correct and incorrect trajectories).");
        return md.ToString();
    }

    static string Percent(int correct, int total) => total == 0 ? "-" : $"{100.0 * correct / total:F1}% ({correct}/{total})";

    static string Eta(TimeSpan? eta) => eta is { } e ? $"{(int)e.TotalMinutes:D2}:{e.Seconds:D2}" : "--:--";
}
