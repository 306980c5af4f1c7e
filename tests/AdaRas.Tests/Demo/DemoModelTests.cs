using System.Diagnostics;
using System.Text.Json.Nodes;
using AdaRas.Engine;
using AdaRas.Engine.Tokenization;
using AdaRas.Evaluation.Answers;
using AdaRas.Evaluation.Benchmarks;
using AdaRas.Evaluation.Prompts;
using AdaRas.Export;
using AdaRas.Tests.Support;
using AdaRas.Workflows;

namespace AdaRas.Tests.Demo;

/// <summary>The committed demo model (models/adaras-demo) through the exporter and engine.</summary>
public class DemoModelTests
{
    static string Repo => RepositoryRoot.Find();
    static string Checkpoint => Path.Combine(Repo, "models", "adaras-demo");

    static readonly Lazy<string> Exported = new(() =>
    {
        var folder = TestCheckpoints.NewFolder("demo-export");
        Qwen3Exporter.Export(Checkpoint, folder);
        return folder;
    });

    /// <summary>
    /// The engine's greedy decoding reproduces, token for token, what PyTorch (tools/demo-trainer/evaluate.py)
    /// recorded for the first test questions (greedy_results.jsonl), style marker, thinking and answer alike.
    /// </summary>
    [Test]
    public void GreedyDecoding_ReproducesTheRecordedHeldOutResultsExactly()
    {
        var recorded = File.ReadLines(Path.Combine(Checkpoint, "greedy_results.jsonl")).Select(l => JsonNode.Parse(l)!).ToList();
        var test = BenchmarkFile.Load(Path.Combine(Checkpoint, "test.jsonl"), BenchmarkTask.Math);
        Assert.That(recorded, Has.Count.GreaterThanOrEqualTo(80).And.Count.LessThanOrEqualTo(test.Samples.Count));

        using var model = AdaRas.Engine.LanguageModel.Load(Exported.Value);
        var checker = new MathAnswerChecker();
        int correct = 0, hasty = 0;
        for (int i = 0; i < recorded.Count; i++)
        {
            var sample = test.Samples[i];
            Assert.That(recorded[i]["id"]!.GetValue<string>(), Is.EqualTo(sample.Id));
            var result = TextGeneration.Generate(model, new ChatRequest(PaperPrompts.MathUserMessage(sample.Question)),
                new GeneratorParams { MaxNewTokens = 256 });
            var expectedIds = recorded[i]["output_ids"]!.AsArray().Select(x => x!.GetValue<int>()).ToArray();
            Assert.That(result.TokenIds, Is.EqualTo(expectedIds), $"{sample.Id}: token ids");
            var check = checker.Check(sample, result.Text);
            Assert.That(check.Correct, Is.EqualTo(recorded[i]["correct"]!.GetValue<bool>()), $"{sample.Id}: correctness");
            if (check.Correct) correct++;
            if (result.Text.Contains("Quick:")) hasty++;
        }
        Assert.That(correct, Is.EqualTo(recorded.Count(r => r["correct"]!.GetValue<bool>())));
        TestContext.Out.WriteLine($"greedy accuracy {correct}/{recorded.Count}, hasty {hasty}");
    }

    [Test]
    public void ExportedGraph_MatchesTheTrainersPyTorchForward()
    {
        if (!PythonTorch.Available)
            Assert.Ignore("python3-torch is not installed (tools/test.sh installs it with apt-get when run as root)");
        using var model = AdaRas.Engine.LanguageModel.Load(Exported.Value);
        var ids = model.Tokenizer.Encode(Qwen3ChatTemplate.Render(PaperPrompts.MathUserMessage("What is 47 * 6 + 128?")) + "<think>\n47*6=");
        var output = Path.Combine(TestCheckpoints.NewFolder("torch-forward") + ".json");
        var start = new ProcessStartInfo(PythonTorch.Interpreter)
        {
            ArgumentList = { Path.Combine(Repo, "tools", "demo-trainer", "forward.py"), "--model", Checkpoint, "--ids", string.Join(",", ids), "--out", output },
            RedirectStandardError = true,
        };
        using (var process = Process.Start(start)!)
        {
            var error = process.StandardError.ReadToEnd();
            process.WaitForExit();
            Assert.That(process.ExitCode, Is.EqualTo(0), error);
        }
        var torch = JsonNode.Parse(File.ReadAllText(output))!["logits"]!.AsArray()
            .SelectMany(row => row!.AsArray().Select(v => v!.GetValue<float>())).ToArray();

        using var generator = new Generator(model, new GeneratorParams { MaxLength = ids.Length });
        generator.AppendTokens(ids, LogitsScope.All);
        Assert.That(Compare.RelativeError(generator.AllLogits, torch), Is.LessThan(1e-4));
    }
}
