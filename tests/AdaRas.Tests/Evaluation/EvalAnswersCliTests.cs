using System.Text.Json;
using AdaRas.Evaluation.Answers;
using AdaRas.Evaluation.Benchmarks;
using AdaRas.Evaluation.Experiments;
using AdaRas.Tests.Cli;
using AdaRas.Tests.Support;

namespace AdaRas.Tests.Evaluation;

/// <summary>
/// <c>adaras eval --config X --answers answers.jsonl</c>: answers made elsewhere, scored with the same checker,
/// resumable, refused when they change, and every malformed file a clear error (exit 2, nothing written).
/// </summary>
[TestFixture]
public sealed class EvalAnswersCliTests
{
    static readonly (string Question, string Answer)[] Questions =
    [
        ("What is 2 + 3?", "5"), ("What is 7 times 6?", "42"), ("Compute 10 - 4.", "6"),
        ("What is the square root of 117?", @"3\sqrt{13}"), ("Half of 3?", @"\frac{3}{2}"), ("Tom has 5 apples and eats 2?", "3"),
    ];

    /// <summary>Outputs from "another engine": right, wrong, reformatted, one unfinished thought with a right box, one without any box.</summary>
    static readonly string[] Outputs =
    [
        "<think>\nadd\n</think>\n\nThe sum is $\\boxed{5}$.",
        "<think>\nmultiply\n</think>\n\n\\boxed{43}",
        "<think>\nsubtract\n</think>\n\n\\boxed{6.0}",
        "<think>\nsimplify\n</think>\n\n\\boxed{\\sqrt{117}}",
        "<think>\nhalf of three is \\boxed{1.5} and then I kept going",
        "<think>\nthree\n</think>\n\nthree apples",
    ];

    string _dir = "";

    [OneTimeSetUp]
    public void WriteBenchmark()
    {
        _dir = TestCheckpoints.NewFolder("eval-answers");
        Directory.CreateDirectory(_dir);
        File.WriteAllLines(Path.Combine(_dir, "questions.jsonl"), Questions.Select((q, i) =>
            JsonSerializer.Serialize(new { id = 100 + i, question = q.Question, answer = q.Answer })));
        // The model is never loaded when answers are given: the config names one that does not exist.
        File.WriteAllText(Path.Combine(_dir, "strict.yaml"), "name: imported\nmodel: no-such-model\nsample_path: questions.jsonl\ntask: math\n");
        File.WriteAllText(Path.Combine(_dir, "paper.yaml"), "name: imported-paper\nmodel: no-such-model\nsample_path: questions.jsonl\ntask: math\n" +
            "scoring: {unfinished_thoughts: last_box}\n");
    }

    string Answers(string name, IEnumerable<string> lines)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllLines(path, lines);
        return path;
    }

    static IEnumerable<string> Lines(int count = 6) =>
        Outputs.Take(count).Select((o, i) => JsonSerializer.Serialize(new { id = 100 + i, output = o, tokens = 10 + i }));

    string NewRoot() => Path.Combine(_dir, "results-" + Guid.NewGuid().ToString("N")[..8]);

    static (int Code, string Out, string Err) Cli(params string[] args)
    {
        var r = CliRunner.Run(args);
        return (r.ExitCode, r.Out, r.Error);
    }

    [Test]
    public void ImportedAnswers_AreScoredByTheSameChecker_AndTheUnfinishedOneIsCounted()
    {
        var answers = Answers("all.jsonl", Lines());
        var benchmark = BenchmarkCatalog.Open(Path.Combine(_dir, "questions.jsonl"), BenchmarkTask.Math);
        foreach (var (config, lastBox) in new[] { ("strict.yaml", false), ("paper.yaml", true) })
        {
            var root = NewRoot();
            var (code, stdout, stderr) = Cli("eval", "--config", Path.Combine(_dir, config), "--answers", answers, "--results", root);
            Assert.That(code, Is.Zero, stderr);
            var name = config == "strict.yaml" ? "imported" : "imported-paper";
            var records = ResultsFolder.ReadRecords(Path.Combine(root, name));
            Assert.That(records.Select(r => r.Answer), Is.EqualTo(Outputs));
            Assert.That(records.Select(r => r.Tokens), Is.EqualTo(new[] { 10, 11, 12, 13, 14, 15 }));
            // Independently: the checker itself on each output.
            var checker = new MathAnswerChecker(lastBox);
            Assert.That(records.Select(r => r.Correct), Is.EqualTo(benchmark.Samples.Select((s, i) => checker.Check(s, Outputs[i]).Correct)));
            Assert.That(records.Select(r => r.Correct), Is.EqualTo(new[] { true, false, true, true, lastBox, false }));
            var summary = ResultsFolder.ReadSummary(Path.Combine(root, name));
            Assert.That((summary.Finished, summary.Correct, summary.Unfinished), Is.EqualTo((6, lastBox ? 4 : 3, 1)));
            Assert.That(stdout, Does.Contain("1 unfinished"));
        }
    }

    [Test]
    public void AnImportIsResumable_AndRefusesAChangedFile_OrGeneratedAnswers()
    {
        var root = NewRoot();
        var answers = Answers("resume.jsonl", Lines());
        var config = Path.Combine(_dir, "strict.yaml");
        Assert.That(Cli("eval", "--config", config, "--answers", answers, "--results", root, "--limit", "2").Code, Is.Zero);
        var folder = Path.Combine(root, "imported");
        Assert.That(ResultsFolder.ReadRecords(folder), Has.Count.EqualTo(2));
        // A kill mid-line: the cut line is redone on resume, the finished ones kept.
        var output = Path.Combine(folder, ResultsFolder.OutputFile);
        var firstLine = File.ReadAllLines(output)[0];
        File.AppendAllText(output, "{\"index\": 2, \"id\": \"10");
        var (code, _, stderr) = Cli("eval", "--config", config, "--answers", answers, "--results", root);
        Assert.That(code, Is.Zero, stderr);
        var records = ResultsFolder.ReadRecords(folder);
        Assert.That(records.Select(r => r.Id), Is.EqualTo(Enumerable.Range(100, 6).Select(i => i.ToString())));
        Assert.That(File.ReadAllLines(output)[0], Is.EqualTo(firstLine));
        Assert.That(File.ReadAllText(Path.Combine(folder, ResultsFolder.IdentityFile)), Does.Contain("answers:"));

        // The same ids with one output changed: a different input, refused.
        var changed = Answers("changed.jsonl", Lines().Select(l => l.Replace("\\\\boxed{43}", "\\\\boxed{42}")));
        Assert.That(File.ReadAllText(changed), Is.Not.EqualTo(File.ReadAllText(answers)));
        (code, _, stderr) = Cli("eval", "--config", config, "--answers", changed, "--results", root);
        Assert.That(code, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain("different run").And.Contain("answers"));
        Assert.That(ResultsFolder.ReadRecords(folder), Has.Count.EqualTo(6), "nothing added");

        // Generated answers into a folder of imported ones: refused too (the runner, as `eval` without --answers uses it).
        var generated = Assert.Throws<InvalidOperationException>(() => new ExperimentRunner(root).Run(
            ExperimentConfig.Load(config), new EchoSource(), new ExperimentRunOptions()))!;
        Assert.That(generated.Message, Does.Contain("generated by the engine"));
        Assert.That(ResultsFolder.ReadRecords(folder), Has.Count.EqualTo(6));
    }

    sealed class EchoSource : IAnswerSource
    {
        public SampleAnswer Answer(BenchmarkSample sample, string userMessage, CancellationToken cancellationToken) =>
            new("</think>\\boxed{0}", 1, 0);
    }

    static IEnumerable<TestCaseData> BadFiles()
    {
        string Line(object o) => JsonSerializer.Serialize(o);
        yield return new TestCaseData(new[] { Line(new { id = 100, output = "a" }), Line(new { id = 999, output = "b" }) }, ":2:", "id 999 is not a sample").SetName("{m}(unknown id)");
        yield return new TestCaseData(new[] { Line(new { id = 100, output = "a" }), Line(new { id = "100", output = "b" }) }, ":2:", "duplicate id 100").SetName("{m}(duplicate id)");
        yield return new TestCaseData(new[] { Line(new { id = 100 }) }, ":1:", "missing field 'output'").SetName("{m}(no output)");
        yield return new TestCaseData(new[] { Line(new { output = "x" }) }, ":1:", "missing field 'id'").SetName("{m}(no id)");
        yield return new TestCaseData(new[] { Line(new { id = 100, output = 5 }) }, ":1:", "'output' must be a string").SetName("{m}(output not text)");
        yield return new TestCaseData(new[] { Line(new { id = 100, output = "a", tokens = -1 }) }, ":1:", "'tokens'").SetName("{m}(negative tokens)");
        yield return new TestCaseData(new[] { Line(new { id = 100, output = "a" }), "{\"id\": 101, \"output\": " }, ":2:", "").SetName("{m}(bad json)");
        yield return new TestCaseData(new[] { "[1, 2]" }, ":1:", "").SetName("{m}(not an object)");
        yield return new TestCaseData(Array.Empty<string>(), ": ", "no answers").SetName("{m}(empty)");
        yield return new TestCaseData(Lines(5).ToArray(), ": ", "no answer for 1 of the run's samples (ids 105)").SetName("{m}(missing answers)");
    }

    [TestCaseSource(nameof(BadFiles))]
    public void AMalformedAnswersFile_IsAClearError_AndWritesNothing(string[] lines, string where, string problem)
    {
        var root = NewRoot();
        var path = Answers("bad-" + Guid.NewGuid().ToString("N")[..6] + ".jsonl", lines);
        var (code, _, stderr) = Cli("eval", "--config", Path.Combine(_dir, "strict.yaml"), "--answers", path, "--results", root);
        Assert.That(code, Is.EqualTo(2), stderr);
        Assert.That(stderr, Does.StartWith("error: " + path + where).And.Contain(problem));
        Assert.That(Directory.Exists(Path.Combine(root, "imported")), Is.False, "no results folder for a bad file");
    }

    [Test]
    public void AMissingAnswersFile_IsAClearError() =>
        Assert.That(Cli("eval", "--config", Path.Combine(_dir, "strict.yaml"), "--answers", Path.Combine(_dir, "none.jsonl"), "--results", NewRoot()).Code,
            Is.EqualTo(2));
}
