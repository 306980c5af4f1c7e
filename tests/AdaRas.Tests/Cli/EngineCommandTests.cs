using System.Text.Json.Nodes;
using AdaRas.Model;
using AdaRas.Tests.Reference;
using AdaRas.Tests.Support;
using AdaRas.Model.Synthetic;

namespace AdaRas.Tests.Cli;

/// <summary>The export/info/tokenize/generate/score verbs end to end, and their bad-input exits.</summary>
public class EngineCommandTests
{
    static string TinyExport => TestExports.Folder(CheckpointShapes.Tiny);

    [Test]
    public void MakeCheckpoint_Export_Info_RoundTrip()
    {
        var checkpoint = TestCheckpoints.NewFolder("cli-ckpt");
        var made = CliRunner.Run("make-checkpoint", checkpoint, "--shape", "tiny-untied", "--seed", "3", "--dtype", "bf16");
        Assert.That(made.ExitCode, Is.EqualTo(0), made.Error);
        var exported = TestCheckpoints.NewFolder("cli-export");
        var export = CliRunner.Run("export", checkpoint, "-o", exported, "--plain");
        Assert.That(export.ExitCode, Is.EqualTo(0), export.Error);
        Assert.That(export.Out, Does.Contain("plain").And.Contain("peak memory"));
        var info = CliRunner.Run("info", exported);
        Assert.That(info.ExitCode, Is.EqualTo(0), info.Error);
        var manifest = JsonNode.Parse(info.Out)!;
        Assert.That(manifest["num_layers"]!.GetValue<int>(), Is.EqualTo(3));
        Assert.That(manifest["source_dtype"]!.GetValue<string>(), Is.EqualTo("bf16"));
        Assert.That(manifest["steerable"]!.GetValue<bool>(), Is.False);
    }

    [Test]
    public void Tokenize_PrintsIdsThatDecodeBack()
    {
        var result = CliRunner.Run("tokenize", "Question: 12+30?<|im_end|>", "--model", TinyExport);
        Assert.That(result.ExitCode, Is.EqualTo(0), result.Error);
        var json = JsonNode.Parse(result.Out)!;
        var ids = json["ids"]!.AsArray().Select(i => i!.GetValue<int>()).ToArray();
        Assert.That(ids[^1], Is.EqualTo(TinyTokenizer.IdOf(TinyTokenizer.ImEnd)), "special tokens stay whole");
        using var model = AdaRas.Engine.LanguageModel.Load(TinyExport);
        Assert.That(model.Tokenizer.Decode(ids), Is.EqualTo("Question: 12+30?<|im_end|>"));
    }

    [Test]
    public void Generate_StreamsGreedyTextThatMatchesTheEngine()
    {
        var result = CliRunner.Run("generate", "Hello", "--model", TinyExport, "--max-new-tokens", "12");
        Assert.That(result.ExitCode, Is.EqualTo(0), result.Error);
        Assert.That(result.Error, Does.Contain("12 generated").Or.Contain("generated"));
        using var model = AdaRas.Engine.LanguageModel.Load(TinyExport);
        var expected = AdaRas.Engine.TextGeneration.Generate(model, new AdaRas.Engine.ChatRequest("Hello"),
            new AdaRas.Engine.GeneratorParams { MaxNewTokens = 12 });
        Assert.That(result.Out.TrimEnd('\n'), Is.EqualTo(expected.Text));
    }

    [Test]
    public void Score_PrintsTheReferenceLogProbabilities()
    {
        int[] ids = [5, 17, 42, 99, 3];
        var result = CliRunner.Run("score", "--ids", string.Join(",", ids), "--model", TinyExport);
        Assert.That(result.ExitCode, Is.EqualTo(0), result.Error);
        var json = JsonNode.Parse(result.Out)!;
        var tokens = json["tokens"]!.AsArray();
        Assert.That(tokens[0]!["log_prob"], Is.Null, "the first token has no prefix");

        using var checkpoint = Checkpoint.Open(TestCheckpoints.Folder(CheckpointShapes.Tiny));
        var logits = ReferenceModel.Load(checkpoint).NewSession().Forward(ids);
        double total = 0;
        for (int t = 1; t < ids.Length; t++)
        {
            var row = logits[t - 1];
            double max = row.Max(), log = Math.Log(row.Sum(v => Math.Exp(v - max))) + max;
            double expected = row[ids[t]] - log;
            Assert.That(tokens[t]!["log_prob"]!.GetValue<double>(), Is.EqualTo(expected).Within(1e-4), $"token {t}");
            total += expected;
        }
        Assert.That(json["total"]!.GetValue<double>(), Is.EqualTo(total).Within(1e-3));
    }

    [TestCase("generate", "hi", "--temperature", "-1")]
    [TestCase("generate", "hi", "--top-p", "0")]
    [TestCase("generate", "hi", "--top-k", "-2")]
    [TestCase("score", "--ids", "1,x,3")]
    [TestCase("score", "--ids", "1,99999")]
    public void BadArguments_ExitWithCode2AndAMessage(params string[] args)
    {
        var result = CliRunner.Run([.. args, "--model", TinyExport]);
        Assert.That(result.ExitCode, Is.EqualTo(2), result.Out + result.Error);
        Assert.That(result.Error, Does.StartWith("error: "));
    }

    [Test]
    public void PromptLongerThanTheContext_ExitsWithCode2()
    {
        var longPrompt = string.Concat(Enumerable.Repeat("word ", 400));
        var result = CliRunner.Run("generate", longPrompt, "--model", TinyExport, "--max-new-tokens", "4");
        Assert.That(result.ExitCode, Is.EqualTo(2));
        Assert.That(result.Error, Does.Contain("context"));
    }

    [Test]
    public void ExportOfABrokenCheckpoint_ExitsWithCode2NamingTheFileAndLeavesNothing()
    {
        var broken = TestCheckpoints.CopyOf(CheckpointShapes.Tiny);
        File.WriteAllText(Path.Combine(broken, Checkpoint.ConfigFile), "{ not json");
        var output = TestCheckpoints.NewFolder("cli-broken-export");
        var result = CliRunner.Run("export", broken, "-o", output);
        Assert.That(result.ExitCode, Is.EqualTo(2));
        Assert.That(result.Error, Does.Contain("config.json"));
        Assert.That(Directory.Exists(output), Is.False);
    }

    [Test]
    public void MissingModelFolder_ExitsWithCode2()
    {
        var result = CliRunner.Run("info", "/nonexistent/model");
        Assert.That(result.ExitCode, Is.EqualTo(2));
        Assert.That(result.Error, Does.Contain("/nonexistent/model"));
        var gen = CliRunner.Run("generate", "hi", "--model", "/nonexistent/model");
        Assert.That(gen.ExitCode, Is.EqualTo(2));
    }

    [Test]
    public void HuggingFaceCheckpoint_IsExportedOnceIntoTheCacheAndUsed()
    {
        var cache = TestCheckpoints.NewFolder("cache");
        Environment.SetEnvironmentVariable("ADARAS_CACHE", cache);
        try
        {
            var result = CliRunner.Run("generate", "Hi", "--model", TestCheckpoints.Folder(CheckpointShapes.Tiny), "--max-new-tokens", "3");
            Assert.That(result.ExitCode, Is.EqualTo(0), result.Error);
            Assert.That(Directory.GetDirectories(Path.Combine(cache, "exports")), Has.Length.EqualTo(1));
        }
        finally
        {
            Environment.SetEnvironmentVariable("ADARAS_CACHE", null);
        }
    }
}
