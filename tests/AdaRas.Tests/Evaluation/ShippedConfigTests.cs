using System.Globalization;
using System.Text;
using AdaRas.Evaluation.Benchmarks;
using AdaRas.Evaluation.Experiments;
using AdaRas.Model;
using AdaRas.Probing.FeatureSelection;
using AdaRas.Probing.Features;
using AdaRas.Probing.Gate;
using AdaRas.Steering.Patterns;
using AdaRas.Steering.Plans;
using AdaRas.Tests.Cli;
using AdaRas.Tests.Support;
using AdaRas.Model.Synthetic;

namespace AdaRas.Tests.Evaluation;

/// <summary>The example configs shipped in data/configs (copied beside every build output).</summary>
[TestFixture]
public sealed class ShippedConfigTests
{
    static string ConfigFolder => Path.Combine(AppContext.BaseDirectory, "data", "configs");

    /// <summary>Benchmark, released pattern, alpha and gate of each of the paper's experiments.</summary>
    static readonly (string Name, string Benchmark, BenchmarkTask Task, string Pattern, double Alpha, string Gate)[] Paper =
    [
        ("aime24", "aime24", BenchmarkTask.Math, "AIME_Qwen3-1.7B.csv", 0.3, "gates/aime-8192.gate"),
        ("aime25", "aime25", BenchmarkTask.Math, "AIME_Qwen3-1.7B.csv", 0.2, "gates/aime-4096.gate"),
        ("math500", "math500", BenchmarkTask.Math, "Math_Qwen3-1.7B.csv", 0.2, "gates/math.gate"),
        ("gsm8k", "gsm8k", BenchmarkTask.Math, "gsm8k_Qwen3-1.7B.csv", 0.2, "gates/gsm8k.gate"),
        ("humaneval", "humaneval", BenchmarkTask.Code, "HumanEval_Qwen3-1.7B.csv", 0.2, "gates/humaneval.gate"),
        ("mbpp", "mbpp", BenchmarkTask.Code, "Mbpp_Qwen3-1.7B.csv", 0.2, "gates/mbpp.gate"),
    ];

    [Test]
    public void PaperConfigsDescribeTheReleasedExperiments()
    {
        var files = Directory.GetFiles(Path.Combine(ConfigFolder, "paper"), "*.yaml");
        Assert.That(files, Has.Length.EqualTo(3 * Paper.Length));
        foreach (var p in Paper)
        {
            var control = ExperimentConfig.Load(Path.Combine(ConfigFolder, "paper", $"{p.Name}-control.yaml"));
            var steered = ExperimentConfig.Load(Path.Combine(ConfigFolder, "paper", $"{p.Name}-steered.yaml"));
            var adaptive = ExperimentConfig.Load(Path.Combine(ConfigFolder, "paper", $"{p.Name}-adaptive.yaml"));
            foreach (var c in new[] { control, steered, adaptive })
            {
                Assert.That(c.SamplePath, Is.EqualTo(p.Benchmark), c.Name);
                Assert.That(c.Task, Is.EqualTo(p.Task), c.Name);
                Assert.That(BenchmarkCatalog.Find(c.SamplePath).Task, Is.EqualTo(p.Task), c.Name);
                Assert.That(c.Generation, Is.EqualTo(new GenerationSettings { MaxNewTokens = 32768, DoSample = false }), c.Name);
                Assert.That(c.Model, Is.EqualTo("models/Qwen3-1.7B"));
            }
            Assert.That(control.Intervention.Enabled, Is.False);
            Assert.That(control.Gate, Is.Null);
            Assert.That(steered.Gate, Is.Null);
            Assert.That(adaptive.Gate!.File, Is.EqualTo(p.Gate));
            Assert.That(adaptive.Gate.Threshold, Is.Null, "the gate file's own threshold");
            foreach (var c in new[] { steered, adaptive })
            {
                Assert.That(c.Intervention, Is.EqualTo(new InterventionSettings
                {
                    Enabled = true, Method = SteeringMethod.SteeringAdd, Strength = p.Alpha, NumNeurons = 50, PatternPath = p.Pattern,
                }), c.Name);
                // The pattern name resolves to the released list, which fits Qwen3-1.7B.
                var pattern = RcnPattern.Load(EngineAnswerSource.ResolvePattern(c), ModelShape.Qwen3_1_7B);
                Assert.That(pattern.Count, Is.EqualTo(200));
            }
        }
    }

    [Test]
    public void TinyConfigsRunOnTheTinyCheckpointTheyWereMadeFor()
    {
        // `adaras make-checkpoint tiny-checkpoint --shape tiny` writes seed 0, the checkpoint tiny.gate was trained on.
        var model = TestExports.Folder(CheckpointShapes.Tiny, seed: 0);
        var results = TestCheckpoints.NewFolder("tiny-configs");
        var gate = AttentionGate.Load(Path.Combine(ConfigFolder, "tiny", "tiny.gate"));
        Assert.That(gate.Model.ModelId, Is.EqualTo(ModelManifest.Load(Path.Combine(model, ModelManifest.FileName)).ModelId));
        foreach (var kind in new[] { "control", "steered", "adaptive" })
        {
            var run = CliRunner.Run("eval", "--config", Path.Combine(ConfigFolder, "tiny", $"tiny-{kind}.yaml"), "--model", model,
                "--results", results, "--limit", "3");
            Assert.That(run.ExitCode, Is.Zero, run.Error);
            var records = ResultsFolder.ReadRecords(Path.Combine(results, $"tiny-{kind}"));
            Assert.That(records, Has.Count.EqualTo(3));
            Assert.That(records.Select(r => r.Steered is null), Is.All.EqualTo(kind == "control"));
            Assert.That(records.Select(r => r.GateScore is not null), Is.All.EqualTo(kind == "adaptive"));
        }
    }

    /// <summary>
    /// The shipped Configs/tiny/tiny-pattern.csv and tiny.gate are reproducible: regenerating them gives the same
    /// pattern bytes and a gate with the same features, threshold and predictions. The pattern is synthetic (20 neurons
    /// of the tiny shape with made-up deltas, the paper's CSV layout, so it fits any tiny checkpoint); the gate is the
    /// paper's recipe run on the seed-0 tiny checkpoint over GSM8K's gate splits (Qwen3-1.7B's labels, so it predicts
    /// nothing real: it exists to exercise the adaptive path).
    /// </summary>
    [Test]
    public void ShippedTinyExampleFiles_AreReproducible()
    {
        var shipped = Path.Combine(RepositoryRoot.Find(), "data", "configs", "tiny");
        var folder = TestCheckpoints.NewFolder("tiny-examples");
        Directory.CreateDirectory(folder);
        var shape = CheckpointShapes.Tiny;
        int neurons = shape.Layers * shape.Intermediate;

        var csv = new StringBuilder("overall_neuron_index,layer,neuron_index_in_layer,weight,abs_weight\n");
        for (int k = 0; k < 20; k++)
        {
            int id = (k * 53 + 11) % neurons;
            float weight = (k % 2 == 0 ? 1 : -1) * (4f - 0.15f * k);
            csv.Append(string.Create(CultureInfo.InvariantCulture,
                $"{id},{id / shape.Intermediate},{id % shape.Intermediate},{weight:R},{Math.Abs(weight):R}\n"));
        }
        AtomicFile.WriteAllText(Path.Combine(folder, "tiny-pattern.csv"), csv.ToString());

        using var model = AdaRas.Engine.LanguageModel.Load(TestExports.Folder(shape, seed: 0));
        var modelShape = ModelShape.FromManifest(model.Manifest);
        int maxTokens = model.Manifest.ContextLength - 8;
        List<(string Question, bool IsGood)> Questions(string split, int count) => BenchmarkCatalog.Load(split).Samples
            .Where(s => s.IsGood is not null && model.Tokenizer.Encode(s.Question).Length <= maxTokens)
            .Take(count).Select(s => (s.Question, s.IsGood!.Value)).ToList();
        var train = Questions("gsm8k-train", 120);
        var validation = Questions("gsm8k-validation", 60);

        var pooled = new QuestionFeatures(model);
        var anova = new AnovaFScore(modelShape.NeuronCount);
        foreach (var (q, good) in train) anova.AddQuestion(pooled.Extract(q).MeanPooled, good);
        var ids = AnovaFScore.SelectTop(anova.ComputeScores(), 16);
        var features = new QuestionFeatures(model, ids);
        List<GateExample> Examples(List<(string Question, bool IsGood)> set) =>
            set.Select(e => new GateExample(features.Extract(e.Question).Tokens!, e.IsGood)).ToList();
        var result = AttentionGateTrainer.Train(modelShape, ids, Examples(train), Examples(validation),
            new AttentionGateOptions { HiddenSize = 32, MaxEpochs = 30, Patience = 10, Seed = 0 });
        var gatePath = Path.Combine(folder, "tiny.gate");
        result.Gate.Save(gatePath);
        TestContext.Out.WriteLine($"tiny.gate: {train.Count} train / {validation.Count} validation questions, " +
            $"best epoch {result.Gate.Training.BestEpoch}, AUROC {result.Gate.Training.BestValidationAuroc:F3}, threshold {result.Gate.Threshold:F4}");

        Assert.That(File.ReadAllText(Path.Combine(folder, "tiny-pattern.csv")), Is.EqualTo(File.ReadAllText(Path.Combine(shipped, "tiny-pattern.csv"))));
        var regenerated = AttentionGate.Load(gatePath, modelShape);
        var committed = AttentionGate.Load(Path.Combine(shipped, "tiny.gate"), modelShape);
        Assert.That(regenerated.FeatureIds, Is.EqualTo(committed.FeatureIds));
        Assert.That(regenerated.Threshold, Is.EqualTo(committed.Threshold));
        foreach (var (q, _) in validation.Take(5))
        {
            var tokens = features.Extract(q).Tokens!;
            Assert.That(regenerated.PredictCorrect(tokens), Is.EqualTo(committed.PredictCorrect(tokens)), q);
        }
    }
}
