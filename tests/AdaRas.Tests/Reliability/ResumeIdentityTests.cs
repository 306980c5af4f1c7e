using System.Text.Json;
using AdaRas.Evaluation.Benchmarks;
using AdaRas.Evaluation.Experiments;

namespace AdaRas.Tests.Reliability;

/// <summary>
/// A resumed run must be the run it continues: the same model weights (not the same path) and the same benchmark
/// content (not the same ids). Before, a replaced model folder or an edited benchmark silently produced one summary
/// over answers from two models or two question sets.
/// </summary>
[TestFixture]
public sealed class ResumeIdentityTests
{
    string _dir = "";

    [SetUp]
    public void Folder()
    {
        _dir = TestCheckpoints.NewFolder("resume-identity");
        Directory.CreateDirectory(_dir);
    }

    string WriteBenchmark(string name, Func<int, string> question)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllLines(path, Enumerable.Range(0, 6).Select(i => JsonSerializer.Serialize(new { id = i, question = question(i), answer = $"{i}" })));
        return path;
    }

    string WriteConfig(string model)
    {
        var path = Path.Combine(_dir, "run.yaml");
        File.WriteAllText(path, $"name: resumed\nmodel: {model}\nsample_path: questions.jsonl\ntask: math\ngeneration: {{max_new_tokens: 4}}\n");
        return path;
    }

    string Results => Path.Combine(_dir, "results");

    [Test]
    public void ReplacingTheModelAtTheSamePath_IsRefusedOnResume()
    {
        WriteBenchmark("questions.jsonl", i => $"What is {i} + 0?");
        var modelPath = Path.Combine(_dir, "model");
        CopyFolder(TestExports.Folder(CheckpointShapes.Tiny, seed: 1), modelPath);
        var config = WriteConfig(modelPath);
        Assert.That(CliRunner.Run("eval", "--config", config, "--results", Results, "--limit", "2").ExitCode, Is.Zero);

        // Control: the same model resumes.
        var same = CliRunner.Run("eval", "--config", config, "--results", Results, "--limit", "3");
        Assert.That(same.ExitCode, Is.Zero, same.Error);

        Directory.Delete(modelPath, recursive: true);
        CopyFolder(TestExports.Folder(CheckpointShapes.Tiny, seed: 2), modelPath);   // other weights, same path
        var swapped = CliRunner.Run("eval", "--config", config, "--results", Results);
        Assert.That(swapped.ExitCode, Is.EqualTo(2), swapped.Error);
        Assert.That(swapped.Error, Does.Contain("run.json").And.Contain("the model changed"));
        Assert.That(ResultsFolder.ReadRecords(Path.Combine(Results, "resumed")), Has.Count.EqualTo(3), "nothing was added");
    }

    [Test]
    public void EditingTheBenchmarkUnderTheSameIds_IsRefusedOnResume()
    {
        var benchmark = WriteBenchmark("questions.jsonl", i => $"What is {i} + 0?");
        var config = WriteConfig(TestExports.Folder(CheckpointShapes.Tiny));
        Assert.That(CliRunner.Run("eval", "--config", config, "--results", Results, "--limit", "2").ExitCode, Is.Zero);

        WriteBenchmark("questions.jsonl", i => i == 4 ? "What is 4 times 100?" : $"What is {i} + 0?");   // same ids and count
        var edited = CliRunner.Run("eval", "--config", config, "--results", Results);
        Assert.That(edited.ExitCode, Is.EqualTo(2), edited.Error);
        Assert.That(edited.Error, Does.Contain("content changed"));

        // Control: restoring the content lets the run resume.
        WriteBenchmark("questions.jsonl", i => $"What is {i} + 0?");
        var restored = CliRunner.Run("eval", "--config", config, "--results", Results);
        Assert.That(restored.ExitCode, Is.Zero, restored.Error);
        Assert.That(ResultsFolder.ReadRecords(Path.Combine(Results, "resumed")), Has.Count.EqualTo(6));
        Assert.That(benchmark, Does.Exist);
    }

    [Test]
    public void TheContentHashSeesEveryField()
    {
        Benchmark Make(string q, string a) => new("b", BenchmarkTask.Math, "b.jsonl", [new BenchmarkSample(0, "1", q, a, null)]);
        var baseline = BenchmarkHash.Compute(Make("q", "a"));
        Assert.That(BenchmarkHash.Compute(Make("q", "a")), Is.EqualTo(baseline));
        Assert.That(BenchmarkHash.Compute(Make("q ", "a")), Is.Not.EqualTo(baseline));
        Assert.That(BenchmarkHash.Compute(Make("q", "b")), Is.Not.EqualTo(baseline));
        Assert.That(BenchmarkHash.Compute(Make("qa", "")), Is.Not.EqualTo(BenchmarkHash.Compute(Make("q", "a"))), "fields are delimited");
    }

    static void CopyFolder(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from)) File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
    }
}
