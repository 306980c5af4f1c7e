using System.Text.Json;

namespace AdaRas.Tests.Reliability;

/// <summary>
/// Unreadable inputs and unwritable outputs, met by a non-root user (root reads and writes everything, so these run
/// the real `adaras` as uid 65534 through setpriv): every verb must say <c>error: &lt;path&gt;...</c> and exit 2,
/// not print an UnauthorizedAccessException stack trace with exit 1.
/// </summary>
[TestFixture]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class PermissionTests
{
    const int Nobody = 65534;
    string _dir = "";
    string _locked = "";      // a root-owned folder nobody may not write into
    string _secret = "";      // a file nobody may not read

    [OneTimeSetUp]
    public void Files()
    {
        if (Environment.UserName != "root" && !OperatingSystem.IsLinux())
            Assert.Ignore("needs root to switch to another user");
        if (Environment.UserName != "root") Assert.Ignore("needs root to run a child as uid 65534");
        _dir = TestCheckpoints.NewFolder("permissions");
        Directory.CreateDirectory(_dir);
        _locked = Path.Combine(_dir, "locked");
        Directory.CreateDirectory(_locked);
        File.SetUnixFileMode(_locked, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
                                      | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        _secret = Path.Combine(_dir, "secret.jsonl");
        File.WriteAllText(_secret, JsonSerializer.Serialize(new { id = 1, question = "q", answer = "1" }) + "\n");
        File.SetUnixFileMode(_secret, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        // The test's own tree must be reachable by nobody (it is, under the default umask; say so if not).
        foreach (var d in new[] { Path.GetDirectoryName(_dir)!, _dir })
            if (!File.GetUnixFileMode(d).HasFlag(UnixFileMode.OtherExecute)) Assert.Ignore($"{d} is not searchable by other users");
    }

    static IEnumerable<TestCaseData> Cases()
    {
        // {model} = a readable exported model, {ckpt} = a readable checkpoint, {secret} = an unreadable JSONL file,
        // {locked} = an unwritable folder. Each case names the path the error must mention.
        yield return new TestCaseData("unreadable benchmark (eval)", new[] { "eval", "--config", "{config-secret}", "--results", "{dir}/r1" }, "secret.jsonl");
        yield return new TestCaseData("unwritable results (eval)", new[] { "eval", "--config", "{config}", "--results", "{locked}/r" }, "{locked}");
        yield return new TestCaseData("unwritable output (export)", new[] { "export", "{ckpt}", "--out", "{locked}/onnx" }, "{locked}");
        yield return new TestCaseData("unreadable data (probe)", new[] { "probe", "--model", "{model}", "--data", "{secret}", "--top", "4", "--out", "{dir}/p.csv" }, "secret.jsonl");
        yield return new TestCaseData("unwritable output (probe)", new[] { "probe", "--model", "{model}", "--data", "{contrastive}", "--top", "4", "--out", "{locked}/p.csv" }, "{locked}");
        yield return new TestCaseData("unreadable data (features)", new[] { "features", "select", "--model", "{model}", "--train", "{secret}", "--top", "4", "--out", "{dir}/f.json" }, "secret.jsonl");
        yield return new TestCaseData("unwritable output (make-checkpoint)", new[] { "make-checkpoint", "{locked}/ck", "--shape", "tiny" }, "{locked}");
        yield return new TestCaseData("unwritable output (report)", new[] { "report", "{run}", "--out", "{locked}/rep" }, "{locked}");
    }

    [TestCaseSource(nameof(Cases))]
    public void AsANonRootUser_ExitsTwoNamingThePath(string what, string[] template, string mention)
    {
        var model = TestExports.Folder(CheckpointShapes.Tiny);
        var config = Path.Combine(_dir, "c.yaml");
        var questions = Path.Combine(_dir, "q.jsonl");
        File.WriteAllText(questions, JsonSerializer.Serialize(new { id = 1, question = "q", answer = "1" }) + "\n");
        File.WriteAllText(config, $"name: perm\nmodel: {model}\nsample_path: {questions}\ntask: math\ngeneration: {{max_new_tokens: 2}}\n");
        var configSecret = Path.Combine(_dir, "c-secret.yaml");
        File.WriteAllText(configSecret, $"name: perm2\nmodel: {model}\nsample_path: {_secret}\ntask: math\n");
        var run = Path.Combine(_dir, "finished");
        if (!Directory.Exists(Path.Combine(run, "perm")))
            Assert.That(AdaRas.Tests.Cli.CliRunner.Run("eval", "--config", config, "--results", run).ExitCode, Is.Zero);
        var contrastive = Path.Combine(_dir, "contrastive.jsonl");
        File.WriteAllLines(contrastive, Enumerable.Range(0, 4).Select(i =>
            JsonSerializer.Serialize(new { id = i, _id = $"t{i}", question = "q", thinking = "t", is_good = i % 2 == 0 })));

        string Fill(string s) => s.Replace("{model}", model).Replace("{ckpt}", TestCheckpoints.Folder(CheckpointShapes.Tiny))
            .Replace("{secret}", _secret).Replace("{locked}", _locked).Replace("{dir}", _dir).Replace("{config-secret}", configSecret)
            .Replace("{config}", config).Replace("{contrastive}", contrastive).Replace("{run}", Path.Combine(run, "perm"));
        var args = template.Select(Fill).ToArray();
        var result = ChildAdaras.Run(args, TimeSpan.FromSeconds(120), runAsUid: Nobody);
        Assert.That(result.Code, Is.EqualTo(2), $"{what}: {result.Error}");
        var error = result.Error.Split('\n').SingleOrDefault(l => l.StartsWith("error: ", StringComparison.Ordinal));
        Assert.That(error, Is.Not.Null.And.Contain(Fill(mention)), $"{what}: an error line of its own naming the path:\n{result.Error}");
        Assert.That(result.Error, Does.Not.Contain("   at "), $"{what}: no stack trace");
    }
}
