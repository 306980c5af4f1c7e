using System.Text.Json;
using System.Text.Json.Nodes;
using AdaRas.Evaluation.Demo;
using AdaRas.Evaluation.Reports;
using AdaRas.Model;
using AdaRas.Probing.Gate;
using AdaRas.Steering.Patterns;
using AdaRas.Tests.Cli;
using AdaRas.Tests.Support;

namespace AdaRas.Tests.Demo;

/// <summary>`adaras demo --quick`: every stage runs, its outputs have the right shape, and a rerun resumes.</summary>
public class DemoCommandTests
{
    static readonly Lazy<(string Folder, CliRunner.Result Run, TimeSpan Elapsed)> QuickDemo = new(() =>
    {
        var folder = TestCheckpoints.NewFolder("demo-quick");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var run = CliRunner.Run("demo", "--quick", "--out", folder);
        return (folder, run, clock.Elapsed);
    });

    [Test]
    public void QuickDemo_RunsEveryStageAndPrintsTheComparison()
    {
        var (folder, run, _) = QuickDemo.Value;
        Assert.That(run.ExitCode, Is.EqualTo(0), run.Error);
        foreach (var stage in new[] { "1/8 export", "2/8 contrastive", "3/8 reasoning-critical", "4/8 gate", "5/8 steering sweep", "6/8 held-out test", "7/8 why", "8/8 quantized" })
            Assert.That(run.Error, Does.Contain(stage));
        Assert.That(run.Out, Does.Contain("| test-control |").And.Contain("| test-steered |").And.Contain("| test-adaptive |")
            .And.Contain("| test-sign |").And.Contain("| test-random-1 |").And.Contain("McNemar exact p").And.Contain("## Steering sweep").And.Contain("## Checks")
            .And.Contain("## Quantized exports").And.Contain("| int4 |").And.Contain("| int8 |"));
        Assert.That(File.ReadAllText(Path.Combine(folder, "demo.md")), Is.EqualTo(run.Out.TrimEnd() + "\n").Or.EqualTo(run.Out.TrimEnd()));
    }

    [Test]
    public void QuickDemo_OutputsHaveTheRightShape()
    {
        var (folder, run, _) = QuickDemo.Value;
        Assert.That(run.ExitCode, Is.EqualTo(0), run.Error);

        // Contrastive set in the paper's format, balanced per question.
        var rows = File.ReadLines(Path.Combine(folder, "contrastive.jsonl")).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.That(rows, Is.Not.Empty);
        Assert.That(rows.Count(r => r["is_good"]!.GetValue<bool>()), Is.EqualTo(rows.Count / 2));
        Assert.That(rows.All(r => r["question"] is not null && r["thinking"] is not null && r["_id"] is not null), Is.True);

        // The pattern: every neuron of this model ranked, in our format (mu+ and mu- present).
        ModelShape shape;
        using (var checkpoint = Checkpoint.Open(Path.Combine(RepositoryRoot.Find(), "models", "adaras-demo")))
            shape = ModelShape.FromConfig(checkpoint.Config, ModelIdentity.Compute(checkpoint));
        var pattern = RcnPattern.Load(Path.Combine(folder, "pattern.csv"), shape);
        Assert.That(pattern.Neurons, Has.Count.EqualTo(shape.Layers * shape.IntermediateSize));
        Assert.That(pattern.Neurons.All(n => n.MuPlus is not null && n.MuMinus is not null), Is.True);
        Assert.That(pattern.Neurons.Select(n => n.Relative!.Value), Is.Ordered.Descending);

        // The gate loads for this model; its report is a sane classifier report.
        var gate = AttentionGate.Load(Path.Combine(folder, "gate", "gate.bin"), shape);
        Assert.That(gate.FeatureIds, Has.Count.EqualTo(64));
        var report = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "gate", "gate-report.json")))!;
        Assert.That(report["auroc"]!.GetValue<double>(), Is.InRange(0.0, 1.0));
        AssertPng(Path.Combine(folder, "gate", "roc.png"));

        // Runs: the control run on test is the model's greedy decoding, so it reproduces the recorded greedy results.
        var recorded = File.ReadLines(Path.Combine(RepositoryRoot.Find(), "models", "adaras-demo", "greedy_results.jsonl"))
            .Take(80).Select(l => JsonNode.Parse(l)!["correct"]!.GetValue<bool>()).ToArray();
        var control = File.ReadLines(Path.Combine(folder, "runs", "test-control", "output.jsonl"))
            .Select(l => JsonNode.Parse(l)!).OrderBy(r => r["index"]!.GetValue<int>()).Select(r => r["correct"]!.GetValue<bool>()).ToArray();
        Assert.That(control, Is.EqualTo(recorded));
        var adaptive = File.ReadLines(Path.Combine(folder, "runs", "test-adaptive", "output.jsonl")).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.That(adaptive, Has.Count.EqualTo(80));
        Assert.That(adaptive.All(r => r["gate_score"] is not null && r["steered"] is not null), Is.True);
        foreach (var png in new[] { "report/accuracy.png", "report/tokens.png", "report/activations.png", "sweep/sweep.png" })
            AssertPng(Path.Combine(folder, png));
    }

    [Test]
    public void RerunningTheDemo_ResumesFromItsStagesAndGivesTheSameReport()
    {
        var (folder, first, elapsed) = QuickDemo.Value;
        Assert.That(first.ExitCode, Is.EqualTo(0), first.Error);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var again = CliRunner.Run("demo", "--quick", "--out", folder);
        Assert.That(again.ExitCode, Is.EqualTo(0), again.Error);
        Assert.That(clock.Elapsed, Is.LessThan(elapsed), "finished stages are reused");
        Assert.That(Tables(again.Out), Is.EqualTo(Tables(first.Out)));
    }

    /// <summary>
    /// The positive control of the whole pipeline: on the quick run's fixed 80 test questions, the neurons it
    /// identified, steered adaptively with the K and alpha it chose on validation, meet the effect bar, and the
    /// same neurons with -alpha lose accuracy.
    /// </summary>
    [Test]
    public void QuickDemo_SteeringTheIdentifiedNeurons_MeetsTheEffectBar()
    {
        var (folder, run, _) = QuickDemo.Value;
        Assert.That(run.ExitCode, Is.EqualTo(0), run.Error);
        var control = Results(folder, "test-control");
        var adaptive = EffectCheck.Of(control, Results(folder, "test-adaptive"), EffectCriteria.Quick);
        TestContext.Out.WriteLine(adaptive);
        Assert.That(adaptive.Passes, Is.True, adaptive.ToString());
        var sign = EffectCheck.Of(control, Results(folder, "test-sign"), EffectCriteria.Quick);
        Assert.That(sign.RunCorrect, Is.LessThan(sign.ControlCorrect), sign.ToString());
    }

    /// <summary>
    /// Steering survives quantization: the same steering (chosen at fp32) on the int8 export gains what it gains at
    /// fp32 (within 2 points: int8 changes little), and on the int4 export it still meets the quick effect bar against
    /// int4's own control. (The full demo's 400 questions hold int4 to the 2-point bar; 80 questions are too few.)
    /// </summary>
    [Test]
    public void QuickDemo_SteeringKeepsItsEffectOnQuantizedExports()
    {
        var (folder, run, _) = QuickDemo.Value;
        Assert.That(run.ExitCode, Is.EqualTo(0), run.Error);
        double Gain(string precision) => EffectCheck.Of(Results(folder, $"test-{precision}control"), Results(folder, $"test-{precision}steered"), EffectCriteria.Quick).GainPoints;
        Assert.That(Math.Abs(Gain("int8-") - Gain("")), Is.LessThanOrEqualTo(2.0), $"int8 gain {Gain("int8-"):F1} vs fp32 {Gain(""):F1}");
        var int4 = EffectCheck.Of(Results(folder, "test-int4-control"), Results(folder, "test-int4-steered"), EffectCriteria.Quick);
        TestContext.Out.WriteLine(int4);
        Assert.That(int4.Passes, Is.True, int4.ToString());
        Assert.That(Results(folder, "test-int4-control").Records.Count(r => r.Correct), Is.GreaterThan(Results(folder, "test-control").Records.Count / 4),
            "the int4 model still answers (a broken packing answers nothing)");
    }

    /// <summary>
    /// The check above has teeth: the same adaptive run with the steering sign flipped, with every neuron index
    /// shifted by one, or with the pattern's layers permuted, each fails it; the unbroken pattern, run again
    /// through the same helper, passes it (so the failures are the breakage, not the helper).
    /// </summary>
    [Test]
    public void TheEffectCheck_FailsWhenThePipelineIsBroken()
    {
        var (folder, run, _) = QuickDemo.Value;
        Assert.That(run.ExitCode, Is.EqualTo(0), run.Error);
        var choice = JsonSerializer.Deserialize<DemoChoice>(File.ReadAllText(Path.Combine(folder, DemoPipeline.ChoiceFile)))!;
        using var model = AdaRas.Workflows.ModelOpening.Open(Path.Combine(RepositoryRoot.Find(), "models", "adaras-demo"));
        var pattern = RcnPattern.Load(Path.Combine(folder, "pattern.csv"), ModelShape.FromManifest(model.Manifest));
        var control = Results(folder, "test-control");
        var questions = Path.Combine(folder, "questions", "test.jsonl");
        var gate = Path.Combine(folder, "gate", "gate.bin");
        var work = TestCheckpoints.NewFolder("demo-teeth");
        var quick = DemoOptions.Quick;
        EffectCheck Check(string name, string patternPath, double alpha) => EffectCheck.Of(control,
            DemoPipeline.RunSteered(model, questions, Path.Combine(work, "runs"), name, patternPath, choice.Neurons, alpha, gate, quick.MaxNewTokens, quick.BatchSize),
            EffectCriteria.Quick);

        var intact = Check("intact", pattern.SourcePath, choice.Alpha);
        Assert.That(intact.Passes, Is.True, intact.ToString());
        Assert.That(intact.RunCorrect, Is.EqualTo(Results(folder, "test-adaptive").Records.Count(r => r.Correct)), "the helper repeats the demo's adaptive run");
        var broken = new[]
        {
            Check("sign-flipped", pattern.SourcePath, -choice.Alpha),
            Check("index-shifted", ControlPatterns.Shifted(pattern, choice.Neurons, 1, Path.Combine(work, "shifted.csv")), choice.Alpha),
            Check("layers-permuted", ControlPatterns.LayersRotated(pattern, choice.Neurons, Path.Combine(work, "layers.csv")), choice.Alpha),
        };
        foreach (var b in broken) TestContext.Out.WriteLine(b);
        Assert.That(broken.Where(b => b.Passes).Select(b => b.ToString()), Is.Empty);
    }

    [Test]
    public void AFolderMadeWithOtherOptions_IsRefusedWithoutForce()
    {
        var folder = TestCheckpoints.NewFolder("demo-other");
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "notes.txt"), "mine");
        var run = CliRunner.Run("demo", "--quick", "--out", folder);
        Assert.That(run.ExitCode, Is.EqualTo(2));
        Assert.That(run.Error, Does.Contain("--force"));
        Assert.That(File.ReadAllText(Path.Combine(folder, "notes.txt")), Is.EqualTo("mine"));
    }

    static RunResults Results(string folder, string run) => RunResults.Load(Path.Combine(folder, "runs", run), run);

    /// <summary>The report without its timing line.</summary>
    static string Tables(string report) => string.Join("\n", report.Split('\n').Where(l => !l.StartsWith("Ran in")));

    static void AssertPng(string path)
    {
        Assert.That(File.Exists(path), Is.True, path);
        var header = File.ReadAllBytes(path).Take(8).ToArray();
        Assert.That(header, Is.EqualTo(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }), path);
    }
}
