using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using AdaRas.Engine;
using AdaRas.Evaluation.Experiments;

namespace AdaRas.Tests.Reliability;

/// <summary>
/// Inputs that used to crash (stack trace, exit 1), hang, exhaust memory or produce garbage with exit 0; each must now
/// stop with <c>error: file[:line]: ...</c> and exit 2 (or, for one over-long sample, be recorded as failed).
/// </summary>
[TestFixture]
public sealed class BadInputTests
{
    static string TinyExport => TestExports.Folder(CheckpointShapes.Tiny);

    static void AssertBadInput(CliRunner.Result run, params string[] mentions)
    {
        Assert.That(run.ExitCode, Is.EqualTo(2), run.Out + run.Error);
        Assert.That(run.Error, Does.StartWith("error: "), run.Error);
        Assert.That(run.Error, Does.Not.Contain("   at "), "no stack trace for bad input");
        foreach (var m in mentions) Assert.That(run.Error, Does.Contain(m));
    }

    static string CheckpointWithConfig(Action<JsonObject> edit)
    {
        var ckpt = TestCheckpoints.CopyOf(CheckpointShapes.Tiny);
        var path = Path.Combine(ckpt, "config.json");
        var json = (JsonObject)JsonNode.Parse(File.ReadAllText(path))!;
        edit(json);
        File.WriteAllText(path, json.ToJsonString());
        return ckpt;
    }

    [Test]
    public void ConfigJsonGarbage_NamesTheFile()
    {
        var nullEos = CheckpointWithConfig(j => j["eos_token_id"] = new JsonArray(5, null));
        AssertBadInput(CliRunner.Run("export", nullEos, "--out", TestCheckpoints.NewFolder("o")), "config.json", "eos_token_id");

        var huge = CheckpointWithConfig(j => j["max_position_embeddings"] = int.MaxValue);
        AssertBadInput(CliRunner.Run("export", huge, "--out", TestCheckpoints.NewFolder("o")), "config.json", "max_position_embeddings");
        AssertBadInput(CliRunner.Run("export", TestCheckpoints.Folder(CheckpointShapes.Tiny), "--out", TestCheckpoints.NewFolder("o"),
            "--context-length", "2000000000"), "--context-length");

        var duplicate = TestCheckpoints.CopyOf(CheckpointShapes.Tiny);
        var text = File.ReadAllText(Path.Combine(duplicate, "config.json"));
        File.WriteAllText(Path.Combine(duplicate, "config.json"), text.Replace("{", "{\"hidden_size\": 48, ", StringComparison.Ordinal)[..]);
        AssertBadInput(CliRunner.Run("export", duplicate, "--out", TestCheckpoints.NewFolder("o")), "config.json");

        var infinite = TestCheckpoints.CopyOf(CheckpointShapes.Tiny);
        var withInf = File.ReadAllText(Path.Combine(infinite, "config.json"));
        var node = (JsonObject)JsonNode.Parse(withInf)!;
        node.Remove("rope_theta");
        File.WriteAllText(Path.Combine(infinite, "config.json"), node.ToJsonString().Replace("{", "{\"rope_theta\": 1e999, "));
        AssertBadInput(CliRunner.Run("export", infinite, "--out", TestCheckpoints.NewFolder("o")), "config.json", "rope_theta");
    }

    [Test]
    public void AFifoAsConfigJson_IsRefusedInsteadOfHanging()
    {
        var ckpt = TestCheckpoints.CopyOf(CheckpointShapes.Tiny);
        var config = Path.Combine(ckpt, "config.json");
        File.Delete(config);
        using (var mkfifo = Process.Start("mkfifo", [config])) mkfifo.WaitForExit();
        var clock = Stopwatch.StartNew();
        var run = Task.Run(() => CliRunner.Run("export", ckpt, "--out", TestCheckpoints.NewFolder("o")));
        Assert.That(run.Wait(TimeSpan.FromSeconds(60)), Is.True, "export hung on a FIFO");
        AssertBadInput(run.Result, "config.json", "FIFO");
    }

    [Test]
    public void ProbeOnDevZero_StopsAtOnce()
    {
        var run = Task.Run(() => CliRunner.Run("probe", "--model", TinyExport, "--data", "/dev/zero", "--out", TestCheckpoints.NewFolder("p") + ".csv"));
        Assert.That(run.Wait(TimeSpan.FromSeconds(60)), Is.True, "probe kept reading /dev/zero");
        AssertBadInput(run.Result, "/dev/zero", "not a regular file");
    }

    [Test]
    public void AManifestThatDisagreesWithTheGraph_IsRefusedAtLoad()
    {
        foreach (var (field, value) in new[] { ("num_layers", 3), ("intermediate_size", 64) })
        {
            var folder = TestCheckpoints.NewFolder("lying-manifest");
            Directory.CreateDirectory(folder);
            foreach (var f in Directory.GetFiles(TinyExport)) File.Copy(f, Path.Combine(folder, Path.GetFileName(f)));
            var manifest = Path.Combine(folder, ModelManifest.FileName);
            var json = (JsonObject)JsonNode.Parse(File.ReadAllText(manifest))!;
            json[field] = value;
            File.WriteAllText(manifest, json.ToJsonString());
            AssertBadInput(CliRunner.Run("generate", "hi", "--model", folder, "--max-new-tokens", "2"), "model.onnx", field);
        }
    }

    [Test]
    public void AManifestWhoseContextLengthLies_FailsClearlyMidGeneration()
    {
        var folder = TestCheckpoints.NewFolder("short-context");
        AdaRas.Export.Qwen3Exporter.Export(TestCheckpoints.Folder(CheckpointShapes.Tiny), folder, new AdaRas.Export.ExportOptions { ContextLength = 32 });
        var manifest = Path.Combine(folder, ModelManifest.FileName);
        var json = (JsonObject)JsonNode.Parse(File.ReadAllText(manifest))!;
        json["context_length"] = 256;   // the graph's rotary cache holds 32 positions
        File.WriteAllText(manifest, json.ToJsonString());
        AssertBadInput(CliRunner.Run("generate", "hello there", "--model", folder, "--max-new-tokens", "100", "--raw"),
            "model.onnx", "context of 256");
    }

    [Test]
    public void HugeOrOverflowingLengths_AreUsageErrors_NotCrashes()
    {
        var tooBig = CliRunner.Run("generate", "hi", "--model", TinyExport, "--max-new-tokens", "99999999999");
        AssertBadInput(tooBig, "99999999999");
        Assert.That(tooBig.Out, Is.Empty, "no help text on stdout for a usage error");

        // int.MaxValue new tokens: prompt + max would overflow; generation is capped by the context instead.
        var max = CliRunner.Run("generate", "hi", "--model", TinyExport, "--max-new-tokens", $"{int.MaxValue}", "--raw");
        Assert.That(max.ExitCode, Is.Zero, max.Error);
        Assert.That(max.Error, Does.Not.Contain("-2147"));

        AssertBadInput(CliRunner.Run("gate", "train", "--model", TinyExport, "--train", "x.jsonl", "--validation", "y.jsonl",
            "--top", "4", "--hidden", "100000000", "--out", TestCheckpoints.NewFolder("g") + ".gate"), "hidden size");
    }

    [Test]
    public void InvalidUtf8InJsonl_IsReportedOnItsOwnLine()
    {
        var path = TestCheckpoints.NewFolder("utf8") + ".jsonl";
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using (var f = File.Create(path))
        {
            for (int i = 1; i <= 40; i++)
            {
                if (i == 37) f.Write([.. "{\"id\": 37, \"question\": \"bad "u8, 0xC3, 0x28, .. "\"}\n"u8]);
                else f.Write(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new { id = i, question = "q", answer = "1" }) + "\n"));
            }
        }
        var e = Assert.Throws<JsonLinesException>(() => JsonLines.Read(path).Count())!;
        Assert.That(e.Line, Is.EqualTo(37), e.Message);
        Assert.That(e.Message, Does.StartWith($"{path}:37: not valid UTF-8"));
    }

    [Test]
    public void AFiftyMegabyteJsonlLine_IsRejectedWithoutCostingGigabytes()
    {
        var path = TestCheckpoints.NewFolder("long-line") + ".jsonl";
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using (var f = File.Create(path))
        {
            f.Write("{\"id\": 1, \"question\": \"short\", \"answer\": \"1\"}\n"u8);
            f.Write("{\"id\": 2, \"question\": \""u8);
            var block = Encoding.ASCII.GetBytes(new string('x', 1 << 20));
            for (int i = 0; i < 50; i++) f.Write(block);
            f.Write("\", \"answer\": \"1\"}\n"u8);
        }
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<JsonLinesException>(() => JsonLines.Read(path).Count())!;
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.That(e.Line, Is.EqualTo(2));
        Assert.That(e.Message, Does.Contain("longer than"));
        Assert.That(allocated, Is.LessThan(200L << 20), $"{allocated >> 20} MB allocated to reject one long line");
    }

    [Test]
    public void TopPZeroInAConfig_IsRejectedBeforeAnyFolderIsMade()
    {
        var dir = TestCheckpoints.NewFolder("top-p");
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "q.jsonl"), "{\"id\": 1, \"question\": \"q\", \"answer\": \"1\"}\n");
        var config = Path.Combine(dir, "c.yaml");
        File.WriteAllText(config, $"name: topp\nmodel: {TinyExport}\nsample_path: q.jsonl\ntask: math\n" +
            "generation: {do_sample: true, temperature: 0.7,\n  top_p: 0}\n");
        var results = Path.Combine(dir, "results");
        AssertBadInput(CliRunner.Run("eval", "--config", config, "--results", results), $"{config}:6:", "top_p");
        Assert.That(Directory.Exists(results), Is.False, "nothing was created");
    }

    [TestCase(1)]
    [TestCase(3, TestName = "OneSampleLongerThanTheContext_IsMarkedFailedAndTheEvalGoesOn, batched")]
    public void OneSampleLongerThanTheContext_IsMarkedFailedAndTheEvalGoesOn(int batch)
    {
        var dir = TestCheckpoints.NewFolder("over-long");
        Directory.CreateDirectory(dir);
        var questions = new[] { "What is 1 + 1?", string.Concat(Enumerable.Repeat("word ", 400)) + "?", "What is 2 + 2?" };
        File.WriteAllLines(Path.Combine(dir, "q.jsonl"), questions.Select((q, i) => JsonSerializer.Serialize(new { id = i, question = q, answer = "2" })));
        var config = Path.Combine(dir, "c.yaml");
        File.WriteAllText(config, $"name: long\nmodel: {TinyExport}\nsample_path: q.jsonl\ntask: math\ngeneration: {{max_new_tokens: 4}}\n");
        var results = Path.Combine(dir, "results");
        var run = CliRunner.Run("eval", "--config", config, "--results", results, "--batch", $"{batch}");
        Assert.That(run.ExitCode, Is.Zero, run.Error);
        var records = ResultsFolder.ReadRecords(Path.Combine(results, "long"));
        Assert.That(records.Select(r => r.Index), Is.EqualTo(new[] { 0, 1, 2 }));
        Assert.That(records[1].Correct, Is.False);
        Assert.That(records[1].Detail, Does.Contain("not run").And.Contain("context"));
        Assert.That(records[0].Tokens, Is.GreaterThan(0));
        Assert.That(records[2].Tokens, Is.GreaterThan(0), "the sample after the long one ran");
        var again = CliRunner.Run("eval", "--config", config, "--results", results, "--batch", $"{batch}");
        Assert.That(again.ExitCode, Is.Zero, "a rerun resumes past it instead of failing again: " + again.Error);
    }

    [Test]
    public void CollapsedOrNonFiniteLogits_FailClearly_InsteadOfEmittingToken0()
    {
        using var model = AdaRas.Engine.LanguageModel.Load(TinyExport);
        using var steering = SteeringTensors.Create(model.Manifest);
        for (int layer = 0; layer < model.Manifest.NumLayers; layer++) steering.Shift(layer).Fill(1e30f);   // alpha 1e30
        using var generator = new Generator(model, new GeneratorParams { MaxNewTokens = 4 });
        generator.Steering = steering;
        generator.AppendTokens(model.Tokenizer.Encode("hi"));
        var e = Assert.Throws<InvalidLogitsException>(() => generator.GenerateNextToken())!;
        Assert.That(e.Message, Does.Contain("unusable").And.Contain("steering is far too strong"));

        // A NaN weight (exported with the export-time check switched off): NaN logits, refused through the CLI too.
        var nanCheckpoint = TestCheckpoints.CopyOf(CheckpointShapes.Tiny);
        AdaRas.Tests.Model.SafeTensorsSurgery.EditTensors(Path.Combine(nanCheckpoint, "model.safetensors"), tensors =>
            BitConverter.GetBytes(float.NaN).CopyTo(tensors.Single(t => t.Name == "model.norm.weight").Bytes, 0));
        var nanExport = TestCheckpoints.NewFolder("nan-logits");
        AdaRas.Export.Qwen3Exporter.Export(nanCheckpoint, nanExport, new AdaRas.Export.ExportOptions { AllowNonFiniteWeights = true });
        AssertBadInput(CliRunner.Run("generate", "hi", "--model", nanExport, "--max-new-tokens", "3"), "unusable", "NaN");

        // Control: the same generator settings without the absurd shift generate normally.
        using var plain = new Generator(model, new GeneratorParams { MaxNewTokens = 4 });
        plain.AppendTokens(model.Tokenizer.Encode("hi"));
        Assert.DoesNotThrow(() => plain.GenerateNextToken());
    }

    [Test]
    public void ReportAcrossDifferentBenchmarks_IsRefused()
    {
        var dir = TestCheckpoints.NewFolder("report-mix");
        Directory.CreateDirectory(dir);
        string Run(string name, string benchmark, Func<int, string> question)
        {
            File.WriteAllLines(Path.Combine(dir, benchmark), Enumerable.Range(0, 3).Select(i => JsonSerializer.Serialize(new { id = i, question = question(i), answer = "1" })));
            var config = Path.Combine(dir, name + ".yaml");
            File.WriteAllText(config, $"name: {name}\nmodel: {TinyExport}\nsample_path: {benchmark}\ntask: math\ngeneration: {{max_new_tokens: 2}}\n");
            Assert.That(CliRunner.Run("eval", "--config", config, "--results", dir).ExitCode, Is.Zero);
            return Path.Combine(dir, name);
        }
        var a = Run("a", "one.jsonl", i => $"q{i}");
        var b = Run("b", "two.jsonl", i => $"q{i}");
        var c = Run("c", "one.jsonl", i => $"q{i}");
        var mixed = CliRunner.Run("report", a, b, "--out", Path.Combine(dir, "r1"));
        AssertBadInput(mixed, b, "benchmark");
        Assert.That(CliRunner.Run("report", a, c, "--out", Path.Combine(dir, "r2")).ExitCode, Is.Zero, "control: same benchmark");
    }
}
