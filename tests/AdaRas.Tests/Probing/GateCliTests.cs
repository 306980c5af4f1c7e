using System.Text.Json;
using System.Text.Json.Nodes;
using AdaRas.Model;
using AdaRas.Probing.Gate;
using AdaRas.Probing.LinearProbe;
using AdaRas.Tests.Cli;
using AdaRas.Tests.Support;
using AdaRas.Model.Synthetic;

namespace AdaRas.Tests.Probing;

/// <summary>
/// `adaras features select`, `gate train`, `gate evaluate` and `probe-l1` end to end on the tiny checkpoint, with
/// questions whose labels the features can see (a marker word), and their bad-input exits.
/// </summary>
[TestFixture]
public sealed class GateCliTests
{
    string _model = "", _train = "", _validation = "", _dir = "", _gate = "";
    JsonObject _trainReport = null!;

    static readonly string[] Quick = ["--hidden", "16", "--epochs", "40", "--patience", "40", "--lr", "3e-3", "--seed", "3"];

    [OneTimeSetUp]
    public void TrainAGate()
    {
        _model = TestExports.Folder(CheckpointShapes.Tiny);
        _train = QuestionFiles.Write("train.jsonl", QuestionFiles.MarkerRows(40, seed: 1));
        _validation = QuestionFiles.Write("validation.jsonl", QuestionFiles.MarkerRows(20, seed: 2));
        _dir = TestCheckpoints.NewFolder("gate-cli");
        _gate = Path.Combine(_dir, "gate.bin");
        var run = CliRunner.Run([.. (string[])["gate", "train", "--model", _model, "--train", _train, "--validation", _validation,
            "--top", "24", "--out", _gate], .. Quick]);
        Assert.That(run.ExitCode, Is.EqualTo(0), run.ToString());
        _trainReport = JsonNode.Parse(File.ReadAllText(Path.Combine(_dir, "gate.report.json")))!.AsObject();
        Assert.That(JsonNode.Parse(run.Out)!.ToJsonString(), Is.EqualTo(_trainReport.ToJsonString()), "stdout is the report");
        Assert.That(run.Error, Does.Contain("features train").And.Contain("40/40 questions").And.Contain("tok/s").And.Contain("epoch  40"));
    }

    static void AssertPng(string path)
    {
        Assert.That(File.Exists(path), path);
        var bytes = File.ReadAllBytes(path);
        Assert.That(bytes.Take(8), Is.EqualTo(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }), "PNG signature");
        Assert.That(bytes.Length, Is.GreaterThan(5000));
    }

    [Test]
    public void GateTrain_WritesGateReportAndRoc_AndLearnsTheMarker()
    {
        var metrics = _trainReport["metrics"]!.AsObject();
        Assert.That(metrics["auroc"]!.GetValue<double>(), Is.GreaterThan(0.8), "the marker word is visible in the features");
        Assert.That(metrics["questions"]!.GetValue<int>(), Is.EqualTo(20));
        foreach (var field in new[] { "accuracy", "precision", "recall", "specificity", "steer_rate", "threshold" })
            Assert.That(metrics[field], Is.Not.Null, field);
        int tp = metrics["true_positives"]!.GetValue<int>(), fp = metrics["false_positives"]!.GetValue<int>();
        int tn = metrics["true_negatives"]!.GetValue<int>(), fn = metrics["false_negatives"]!.GetValue<int>();
        Assert.That(tp + fp + tn + fn, Is.EqualTo(20));
        Assert.That(metrics["accuracy"]!.GetValue<double>(), Is.EqualTo((tp + tn) / 20.0).Within(1e-12));
        Assert.That(metrics["roc"]!["fpr"]!.AsArray().Count, Is.EqualTo(metrics["roc"]!["tpr"]!.AsArray().Count).And.GreaterThan(2));

        var training = _trainReport["training"]!.AsObject();
        Assert.That(training["epochs"]!.GetValue<int>(), Is.EqualTo(40));
        Assert.That(training["history"]!.AsArray().Count, Is.EqualTo(40));
        Assert.That(_trainReport["features"]!["count"]!.GetValue<int>(), Is.EqualTo(24));
        Assert.That(_trainReport["timing"]!["tokens"]!.GetValue<long>(), Is.GreaterThan(3 * 40));

        var shape = ModelShape.FromManifest(ModelManifest.Load(Path.Combine(_model, ModelManifest.FileName)));
        var gate = AttentionGate.Load(_gate, shape, expectedFeatureCount: 24);
        Assert.That(gate.Threshold, Is.EqualTo(_trainReport["threshold"]!.GetValue<double>()));
        Assert.That(gate.Threshold, Is.EqualTo(metrics["threshold"]!.GetValue<double>()));
        AssertPng(Path.Combine(_dir, "gate.roc.png"));
    }

    [Test]
    public void GateEvaluate_OnTheValidationSet_ReproducesTheTrainingReport()
    {
        var output = Path.Combine(TestCheckpoints.NewFolder("gate-eval"), "eval.json");
        var run = CliRunner.Run("gate", "evaluate", "--model", _model, "--gate", _gate, "--data", _validation, "--out", output);
        Assert.That(run.ExitCode, Is.EqualTo(0), run.ToString());
        var report = JsonNode.Parse(File.ReadAllText(output))!.AsObject();
        foreach (var field in new[] { "auroc", "accuracy", "threshold", "true_positives", "false_positives", "true_negatives", "false_negatives" })
            Assert.That(report["metrics"]![field]!.ToJsonString(), Is.EqualTo(_trainReport["metrics"]![field]!.ToJsonString()), field);
        Assert.That(report["data"]!["file"]!.GetValue<string>(), Is.EqualTo(_validation));
        AssertPng(Path.ChangeExtension(output, null) + ".roc.png");
        Assert.That(run.Error, Does.Contain("attention-gate on ").And.Contain("AUROC"));

        var again = CliRunner.Run("gate", "evaluate", "--model", _model, "--gate", _gate, "--data", _validation, "--out", output);
        Assert.That(again.ExitCode, Is.EqualTo(2), "results are not overwritten silently");
        Assert.That(again.Error, Does.Contain(output).And.Contain("--force"));
    }

    [Test]
    public void FeaturesSelect_ThenTrainWithTheFile_GivesTheSameGateAsTop()
    {
        var dir = TestCheckpoints.NewFolder("features");
        var features = Path.Combine(dir, "features.json");
        var select = CliRunner.Run("features", "select", "--model", _model, "--train", _train, "--top", "24", "--out", features);
        Assert.That(select.ExitCode, Is.EqualTo(0), select.ToString());
        var file = JsonNode.Parse(File.ReadAllText(features))!.AsObject();
        Assert.That(file["feature_ids"]!.AsArray().Count, Is.EqualTo(24));
        Assert.That(file["features"]![0]!["rank"]!.GetValue<int>(), Is.EqualTo(1));

        var gate = Path.Combine(dir, "gate.bin");
        var train = CliRunner.Run([.. (string[])["gate", "train", "--model", _model, "--train", _train, "--validation", _validation,
            "--features", features, "--out", gate], .. Quick]);
        Assert.That(train.ExitCode, Is.EqualTo(0), train.ToString());
        Assert.That(File.ReadAllBytes(gate), Is.EqualTo(File.ReadAllBytes(_gate)), "same features, same seed: the same gate");
    }

    [Test]
    public void ProbeL1_OnQuestions_WritesProbeReportAndRoc()
    {
        var dir = TestCheckpoints.NewFolder("probe");
        var probe = Path.Combine(dir, "probe.bin");
        var data = QuestionFiles.Write("marker-last.jsonl", QuestionFiles.MarkerRows(30, seed: 4, markerLast: true));
        var run = CliRunner.Run("probe-l1", "--model", _model, "--data", data, "--out", probe, "--folds", "4", "--lambdas", "20");
        Assert.That(run.ExitCode, Is.EqualTo(0), run.ToString());
        var report = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "probe.report.json")))!.AsObject();
        var loaded = L1Probe.Load(probe);
        Assert.That(report["nonzero_neurons"]!.GetValue<int>(), Is.EqualTo(loaded.NeuronIds.Count).And.GreaterThan(0));
        Assert.That(report["neurons"]!.AsArray().Count, Is.EqualTo(loaded.NeuronIds.Count));
        Assert.That(report["metrics"]!["auroc"]!.GetValue<double>(), Is.GreaterThan(0.7));
        Assert.That(report["metrics"]!["threshold"]!.GetValue<double>(), Is.EqualTo(loaded.Threshold));
        Assert.That(report["path"]!["points"]!.AsArray().Count, Is.GreaterThan(1));
        AssertPng(Path.Combine(dir, "probe.roc.png"));
    }

    [Test]
    public void ProbeL1_WithTrajectory_ReadsQuestionPlusThinking()
    {
        var rows = Enumerable.Range(0, 12).Select(i => QuestionFiles.Row(i, $"Question {i % 3}", i % 2 == 0,
            thinking: i % 2 == 0 ? " so the zebra answer is 4" : " so the answer is 5")).ToArray();
        var data = QuestionFiles.Write("trajectories.jsonl", rows);
        var probe = Path.Combine(TestCheckpoints.NewFolder("probe-trajectory"), "probe.bin");
        var run = CliRunner.Run("probe-l1", "--model", _model, "--data", data, "--with-trajectory", "--out", probe, "--folds", "3", "--lambdas", "5");
        Assert.That(run.ExitCode, Is.EqualTo(0), run.ToString());
        var report = JsonNode.Parse(run.Out)!.AsObject();
        Assert.That(report["input"]!.GetValue<string>(), Does.Contain("thinking"));

        var noThinking = QuestionFiles.Write("questions-only.jsonl", QuestionFiles.MarkerRows(8, seed: 5));
        var bad = CliRunner.Run("probe-l1", "--model", _model, "--data", noThinking, "--with-trajectory", "--out", probe + ".2");
        Assert.That(bad.ExitCode, Is.EqualTo(2));
        Assert.That(bad.Error, Does.Contain($"{noThinking}:1:").And.Contain("thinking"));
    }

    // ----- bad input: exit code 2, the file named -----

    static void AssertBadInput(CliRunner.Result run, params string[] mentions)
    {
        Assert.That(run.ExitCode, Is.EqualTo(2), run.ToString());
        var error = run.Error.Split('\n').Single(l => l.StartsWith("error: "));
        foreach (var m in mentions) Assert.That(error, Does.Contain(m));
    }

    static string Out(string name) => Path.Combine(Directory.CreateDirectory(TestCheckpoints.NewFolder("bad")).FullName, name);

    [Test]
    public void LabelsAllOneClass_AreRefusedNamingTheFile()
    {
        var oneClass = QuestionFiles.Write("one-class.jsonl",
            Enumerable.Range(0, 6).Select(i => QuestionFiles.Row(i, $"What is {i} + 1?", "True")).ToArray());
        AssertBadInput(CliRunner.Run("gate", "train", "--model", _model, "--train", oneClass, "--validation", _validation, "--top", "4",
            "--out", Out("g.bin")), oneClass, "is_good=true");
        AssertBadInput(CliRunner.Run("gate", "train", "--model", _model, "--train", _train, "--validation", oneClass, "--top", "4",
            "--out", Out("g.bin")), oneClass);
        AssertBadInput(CliRunner.Run("features", "select", "--model", _model, "--train", oneClass, "--top", "4", "--out", Out("f.json")), oneClass);
        AssertBadInput(CliRunner.Run("probe-l1", "--model", _model, "--data", oneClass, "--out", Out("p.bin")), oneClass);
    }

    [Test]
    public void FewerQuestionsThanFolds_IsRefusedNamingTheFile()
    {
        var three = QuestionFiles.Write("three.jsonl", QuestionFiles.MarkerRows(3, seed: 7));
        AssertBadInput(CliRunner.Run("probe-l1", "--model", _model, "--data", three, "--folds", "5", "--out", Out("p.bin")),
            three, "fewer questions (3) than cross-validation folds (5)");
    }

    [Test]
    public void FeatureIndexOutsideTheModel_IsRefusedNamingTheFeatureFile()
    {
        var features = Out("features.json");
        Assert.That(CliRunner.Run("features", "select", "--model", _model, "--train", _train, "--top", "3", "--out", features).ExitCode, Is.EqualTo(0));
        var json = JsonNode.Parse(File.ReadAllText(features))!.AsObject();
        int neurons = CheckpointShapes.Tiny.Layers * CheckpointShapes.Tiny.Intermediate;
        json["feature_ids"] = new JsonArray(4, 9, neurons + 5);
        File.WriteAllText(features, json.ToJsonString());
        AssertBadInput(CliRunner.Run("gate", "train", "--model", _model, "--train", _train, "--validation", _validation,
            "--features", features, "--out", Out("g.bin")), features, $"feature index {neurons + 5}", "outside the model");

        AssertBadInput(CliRunner.Run("features", "select", "--model", _model, "--train", _train, "--top", $"{neurons + 1}", "--out", Out("f.json")),
            "--top", $"1..{neurons}");
    }

    [Test]
    public void GateForAnotherModel_IsRefusedNamingTheGateFile()
    {
        var other = TestExports.Folder(CheckpointShapes.TinyMqa);
        AssertBadInput(CliRunner.Run("gate", "evaluate", "--model", other, "--gate", _gate, "--data", _validation), _gate, "trained for model");
        // Same shape, other weights: the model identity differs.
        var reseeded = TestExports.Folder(CheckpointShapes.Tiny, seed: 2);
        AssertBadInput(CliRunner.Run("gate", "evaluate", "--model", reseeded, "--gate", _gate, "--data", _validation), _gate, "trained for model");
        // Not a gate at all (an L1 probe file, say).
        var notAGate = Out("probe.bin");
        File.WriteAllBytes(notAGate, "ADRSPROB"u8.ToArray().Concat(new byte[32]).ToArray());
        AssertBadInput(CliRunner.Run("gate", "evaluate", "--model", _model, "--gate", notAGate, "--data", _validation), notAGate, "ADRSGATE");
    }

    [Test]
    public void NanActivation_IsRefusedNamingTheQuestionLine()
    {
        // A checkpoint with one NaN weight in layer 1's up_proj: every question's layer-1 activations are NaN.
        var checkpoint = TestCheckpoints.CopyOf(CheckpointShapes.Tiny);
        var weights = Directory.GetFiles(checkpoint, "*.safetensors").Single();
        long begin;
        using (var file = SafeTensorsFile.Open(weights)) begin = file.Get("model.layers.1.mlp.up_proj.weight").Begin;
        using (var stream = File.Open(weights, FileMode.Open, FileAccess.ReadWrite))
        {
            var prefix = new byte[8];
            stream.ReadExactly(prefix);
            stream.Position = 8 + BitConverter.ToInt64(prefix) + begin;
            stream.Write(BitConverter.GetBytes(float.NaN));
        }
        var exported = TestCheckpoints.NewFolder("nan-export");
        AdaRas.Export.Qwen3Exporter.Export(checkpoint, exported, new AdaRas.Export.ExportOptions());
        AssertBadInput(CliRunner.Run("features", "select", "--model", exported, "--train", _train, "--top", "4", "--out", Out("f.json")),
            $"{_train}:1:", "NaN");
    }

    [Test]
    public void MalformedData_ConflictingOptions_AndExistingOutputs_AreRefused()
    {
        var bad = QuestionFiles.Write("malformed.jsonl", QuestionFiles.Row(1, "Q", true), """{"id": 2, "question": "R"}""");
        AssertBadInput(CliRunner.Run("gate", "evaluate", "--model", _model, "--gate", _gate, "--data", bad), $"{bad}:2:", "is_good");
        var dup = QuestionFiles.Write("dup.jsonl", QuestionFiles.Row(1, "Q", true), QuestionFiles.Row(1, "R", false));
        AssertBadInput(CliRunner.Run("features", "select", "--model", _model, "--train", dup, "--top", "2", "--out", Out("f.json")),
            $"{dup}:2:", "duplicate id 1");
        AssertBadInput(CliRunner.Run("gate", "train", "--model", _model, "--train", _train, "--validation", _validation,
            "--top", "4", "--features", "f.json", "--out", Out("g.bin")), "--features or --top");
        AssertBadInput(CliRunner.Run("gate", "train", "--model", _model, "--train", _train, "--validation", _validation,
            "--top", "4", "--out", _gate), _gate, "already exists");
        AssertBadInput(CliRunner.Run("gate", "train", "--model", _model, "--train", _train, "--validation", _validation,
            "--top", "4", "--dropout", "1", "--out", Out("g.bin")), "dropout");
    }
}
