
namespace AdaRas.Tests.Reliability;

/// <summary>
/// Values a user types (options, environment variables, config fields) that the libraries used to reject with
/// ArgumentException, which the command line reports as a bug (exit 1, stack trace). Each must be an input error:
/// exit 2, <c>error: ...</c> naming the option or value, no stack trace, and nothing written.
/// </summary>
[TestFixture]
public sealed class UserInputExitCodeTests
{
    string _dir = "";
    string _config = "";
    static string Demo => Path.Combine(RepositoryRoot.Find(), "models", "adaras-demo");

    [OneTimeSetUp]
    public void Setup()
    {
        _dir = TestCheckpoints.NewFolder("user-input");
        Directory.CreateDirectory(_dir);
        _config = Path.Combine(_dir, "run.yaml");
        File.WriteAllText(_config, "name: user-input\nmodel: no-such-model\nsample_path: no-such-benchmark.jsonl\ntask: math\n");
        File.WriteAllLines(Path.Combine(_dir, "q.jsonl"), Enumerable.Range(1, 10).Select(i =>
            $$"""{"id": {{i}}, "question": "What is {{i}} + 1?", "is_good": {{(i % 2 == 0 ? "true" : "false")}}}"""));
        File.WriteAllText(Path.Combine(_dir, "answers.jsonl"), """{"id": 1, "output": "1"}""" + "\n");
    }

    static void AssertInputError(CliRunner.Result run, params string[] mentions)
    {
        Assert.That(run.ExitCode, Is.EqualTo(2), run.Error);
        Assert.That(run.Error, Does.Contain("error: ").And.Not.Contain("internal error").And.Not.Contain("   at "), run.Error);
        foreach (var m in mentions) Assert.That(run.Error, Does.Contain(m), run.Error);
    }

    static CliRunner.Result WithEnvironment(string? index, string? count, params string[] args)
    {
        var saved = (Environment.GetEnvironmentVariable("JOB_COMPLETION_INDEX"), Environment.GetEnvironmentVariable("JOB_COMPLETIONS"));
        Environment.SetEnvironmentVariable("JOB_COMPLETION_INDEX", index);
        Environment.SetEnvironmentVariable("JOB_COMPLETIONS", count);
        try { return CliRunner.Run(args); }
        finally
        {
            Environment.SetEnvironmentVariable("JOB_COMPLETION_INDEX", saved.Item1);
            Environment.SetEnvironmentVariable("JOB_COMPLETIONS", saved.Item2);
        }
    }

    [TestCase("x", "4", "JOB_COMPLETION_INDEX='x'", "non-negative integers")]
    [TestCase("5", "4", "JOB_COMPLETION_INDEX=5 must be below JOB_COMPLETIONS=4")]
    [TestCase(null, null, "JOB_COMPLETION_INDEX is not set")]
    [TestCase("0", "", "JOB_COMPLETIONS is not set")]
    public void ShardAuto_WithABadEnvironment(string? index, string? count, params string[] mentions)
    {
        var results = Path.Combine(_dir, "results-shard");
        AssertInputError(WithEnvironment(index, count, "eval", "--config", _config, "--results", results, "--shard", "auto"), mentions);
        Assert.That(Directory.Exists(results), Is.False, "nothing written");
    }

    /// <summary>Serving limits come from options; a limit that cannot work is refused before the model loads.</summary>
    [TestCase("--max-batch", "0")]
    [TestCase("--max-body-bytes", "10")]
    [TestCase("--max-concurrent", "0")]
    public void Serve_ALimitThatCannotWork(string option, string value) =>
        AssertInputError(CliRunner.Run("serve", "--model", Demo, option, value, "--port", "0"), option);

    [Test]
    public void MakeCheckpoint_UnknownShape()
    {
        var folder = Path.Combine(_dir, "ckpt-shape");
        AssertInputError(CliRunner.Run("make-checkpoint", folder, "--shape", "qwen3-8b"), "unknown checkpoint shape 'qwen3-8b'", "known: tiny");
        Assert.That(Directory.Exists(folder), Is.False);
    }

    [Test]
    public void MakeCheckpoint_ZeroShards()
    {
        var folder = Path.Combine(_dir, "ckpt-shards");
        AssertInputError(CliRunner.Run("make-checkpoint", folder, "--shards", "0"), "--shards 0");
        Assert.That(Directory.Exists(folder), Is.False);
    }

    [TestCase("--parts", "decode,nope", "--parts", "'nope'")]
    [TestCase("--precisions", "fp64", "--precisions", "'fp64'")]
    [TestCase("--prompt", "0", "--prompt 0")]
    [TestCase("--shapes", "qwen3-8b", "unknown checkpoint shape 'qwen3-8b'")]
    [TestCase("--threads", "-1", "--threads")]
    public void Bench_BadOption(string option, string value, params string[] mentions) =>
        AssertInputError(CliRunner.Run("bench", option, value, "--no-llama"), mentions);

    [TestCase("--block-size", "7", "--block-size must be a power of two")]
    [TestCase("--accuracy-level", "qkv_proj=9", "--accuracy-level 'qkv_proj=9'", "not a level 0-4")]
    [TestCase("--accuracy-level", "4,attention=1", "unknown projection 'attention'")]
    public void Export_BadQuantizationOption(string option, string value, params string[] mentions)
    {
        var output = Path.Combine(_dir, "export-" + value.GetHashCode().ToString("x"));
        AssertInputError(CliRunner.Run("export", Demo, "--out", output, "--precision", "int4", option, value), mentions);
        Assert.That(Directory.Exists(output), Is.False);
    }

    [Test]
    public void GateTrain_TopOutsideTheModel()
    {
        var q = Path.Combine(_dir, "q.jsonl");
        var output = Path.Combine(_dir, "gate.bin");
        AssertInputError(CliRunner.Run("gate", "train", "--train", q, "--validation", q, "--top", "0", "--out", output), "--top 0 is outside 1..");
        Assert.That(File.Exists(output), Is.False);
    }

    [Test]
    public void FeaturesSelect_TooFewQuestionsForAnova()
    {
        var two = Path.Combine(_dir, "two.jsonl");
        File.WriteAllLines(two, File.ReadLines(Path.Combine(_dir, "q.jsonl")).Take(2));
        var output = Path.Combine(_dir, "features.json");
        AssertInputError(CliRunner.Run("features", "select", "--train", two, "--top", "5", "--out", output), two, "at least 3 questions, got 2");
        Assert.That(File.Exists(output), Is.False);
    }

    [Test]
    public void Eval_ASamplePathThatIsNeitherFileNorBenchmark()
    {
        var results = Path.Combine(_dir, "results-answers");
        AssertInputError(CliRunner.Run("eval", "--config", _config, "--results", results, "--answers", Path.Combine(_dir, "answers.jsonl")),
            "unknown benchmark 'no-such-benchmark.jsonl'", "no such file");
    }

    [TestCase("--gate-threshold", "0.5")]
    [TestCase("--probe-every", "8")]
    public void Generate_GateSettingsWithoutAGate_AreRefusedNotIgnored(string option, string value) =>
        AssertInputError(CliRunner.Run("generate", "hi", "--max-new-tokens", "2", option, value), option, "need --steer and --gate");
}
