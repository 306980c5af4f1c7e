using System.Diagnostics;
using System.Text.Json;
using AdaRas.Evaluation.Experiments;
using AdaRas.Tests.Support;
using YamlDotNet.RepresentationModel;

namespace AdaRas.Tests.Serving;

/// <summary>
/// Scale-out on Kubernetes, tested as far as it can be without a cluster: `eval --shard auto` in N separate
/// processes with the variables an Indexed Job sets merges to the unsharded run, and the shipped manifests parse,
/// hold together (indexed Job, shard count, readiness on /health) and carry command lines the real CLI parser accepts.
/// </summary>
[TestFixture]
public sealed class ScaleOutTests
{
    static readonly string Deploy = Path.Combine(RepositoryRoot.Find(), "deploy");

    [Test]
    public void ShardAuto_ReadsTheIndexedJobVariables()
    {
        Assert.That(Shard.Resolve("auto", v => v == Shard.IndexVariable ? "0" : "3"), Is.EqualTo(Shard.Parse("1/3")));
        Assert.That(Shard.Resolve("auto", v => v == Shard.IndexVariable ? "2" : "3"), Is.EqualTo(Shard.Parse("3/3")));
        Assert.That(Shard.Resolve("2/5", _ => null), Is.EqualTo(Shard.Parse("2/5")));
        Assert.That(() => Shard.Resolve("auto", _ => null), Throws.InstanceOf<UsageException>().With.Message.Contains("JOB_COMPLETION_INDEX"));
        Assert.That(() => Shard.Resolve("auto", v => v == Shard.IndexVariable ? "1" : null), Throws.InstanceOf<UsageException>().With.Message.Contains("JOB_COMPLETIONS"));
        Assert.That(() => Shard.Resolve("auto", v => v == Shard.IndexVariable ? "3" : "3"), Throws.InstanceOf<UsageException>().With.Message.Contains("below"));
        Assert.That(() => Shard.Resolve("auto", v => v == Shard.IndexVariable ? "-1" : "3"), Throws.InstanceOf<UsageException>());
    }

    [Test]
    public void ProcessesWithJobVariables_MergeToTheUnshardedRun()
    {
        var dir = TestCheckpoints.NewFolder("scale-out");
        Directory.CreateDirectory(dir);
        File.WriteAllLines(Path.Combine(dir, "questions.jsonl"), Enumerable.Range(0, 7).Select(i =>
            JsonSerializer.Serialize(new { id = i, question = $"What is {i} + {2 * i}?", answer = $"{3 * i}" })));
        File.Copy(ServingAssets.PatternPath, Path.Combine(dir, "pattern.csv"));
        var config = Path.Combine(dir, "steered.yaml");
        File.WriteAllText(config, $"name: tiny-steered\nmodel: {ServingAssets.ModelFolder}\nsample_path: questions.jsonl\ntask: math\n" +
            "generation: {max_new_tokens: 10}\nintervention: {enabled: true, method: steering_add, strength: 2, num_neurons: 10, pattern_path: pattern.csv}\n");

        var whole = Path.Combine(dir, "whole");
        var sharded = Path.Combine(dir, "sharded");
        // Two pods, each its own process with only the variables an Indexed Job sets (process start-up dominates the
        // time), started first so the unsharded run here overlaps them.
        const int n = 2;
        var pods = Enumerable.Range(0, n).Select(i => Task.Run(() => Adaras(["eval", "--config", config, "--results", sharded, "--shard", "auto"],
            new() { [Shard.IndexVariable] = i.ToString(), [Shard.CountVariable] = n.ToString() }))).ToArray();
        var unsharded = AdaRas.Tests.Cli.CliRunner.Run("eval", "--config", config, "--results", whole);
        Assert.That(unsharded.ExitCode, Is.Zero, unsharded.Error);
        foreach (var pod in pods) Assert.That(pod.Result.Code, Is.Zero, pod.Result.Error);
        for (int i = 1; i <= n; i++)
            Assert.That(Directory.Exists(Path.Combine(sharded, "tiny-steered", $"shard-{i}-of-{n}")), $"shard {i} of {n} was written");

        var merge = AdaRas.Tests.Cli.CliRunner.Run("eval", "merge", Path.Combine(sharded, "tiny-steered"));
        Assert.That(merge.ExitCode, Is.Zero, merge.Error);
        static IEnumerable<string> Lines(string folder) => File.ReadAllLines(Path.Combine(folder, ResultsFolder.OutputFile))
            .Select(l => { var o = System.Text.Json.Nodes.JsonNode.Parse(l)!.AsObject(); o.Remove("seconds"); return o.ToJsonString(); });
        var expected = Lines(Path.Combine(whole, "tiny-steered")).ToList();
        Assert.That(expected, Has.Count.EqualTo(7));
        Assert.That(Lines(Path.Combine(sharded, "tiny-steered")), Is.EqualTo(expected));
    }

    /// <summary>Runs the built `adaras` in its own process with extra environment variables.</summary>
    static (int Code, string Out, string Error) Adaras(string[] args, Dictionary<string, string> environment)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "adaras.dll"));
        foreach (var a in args) info.ArgumentList.Add(a);
        info.Environment.Remove(Shard.IndexVariable);
        info.Environment.Remove(Shard.CountVariable);
        foreach (var (k, v) in environment) info.Environment[k] = v;
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(2))) { process.Kill(true); Assert.Fail($"adaras {string.Join(' ', args)} hung"); }
        return (process.ExitCode, stdout.Result, stderr.Result);
    }

    static List<YamlMappingNode> Documents(string file)
    {
        var stream = new YamlStream();
        using (var reader = new StreamReader(Path.Combine(Deploy, "kubernetes", file))) stream.Load(reader);
        var docs = stream.Documents.Select(d => (YamlMappingNode)d.RootNode).ToList();
        foreach (var d in docs)
        {
            Assert.That(d.Children.ContainsKey("apiVersion") && d.Children.ContainsKey("kind"), $"{file}: apiVersion and kind");
            Assert.That(Get(d, "metadata", "name"), Is.Not.Null, $"{file}: metadata.name");
        }
        return docs;
    }

    static YamlNode? Get(YamlNode node, params string[] path)
    {
        foreach (var key in path)
        {
            if (node is not YamlMappingNode map || !map.Children.TryGetValue(new YamlScalarNode(key), out var next)) return null;
            node = next;
        }
        return node;
    }

    static string? Scalar(YamlNode node, params string[] path) => (Get(node, path) as YamlScalarNode)?.Value;

    static YamlMappingNode Container(YamlMappingNode doc)
    {
        var containers = (YamlSequenceNode)Get(doc, "spec", "template", "spec", "containers")!;
        Assert.That(containers.Children, Has.Count.EqualTo(1));
        return (YamlMappingNode)containers.Children[0];
    }

    /// <summary>The container's args (the image's entry point is `adaras`) must parse with the CLI's own parser.</summary>
    static string[] AssertArgsParse(YamlMappingNode container, string file)
    {
        Assert.That(Get(container, "command"), Is.Null, $"{file}: the image's entry point runs adaras");
        var args = ((YamlSequenceNode)Get(container, "args")!).Children.Select(a => ((YamlScalarNode)a).Value!).ToArray();
        var parse = AdaRas.Cli.Program.Parse(args);
        Assert.That(parse.Errors.Select(e => e.Message), Is.Empty, $"{file}: adaras {string.Join(' ', args)}");
        Assert.That(parse.CommandResult.Command.Name, Is.Not.EqualTo(parse.RootCommandResult.Command.Name), $"{file}: names a verb");
        return args;
    }

    static string? Env(YamlMappingNode container, string name) =>
        ((YamlSequenceNode?)Get(container, "env"))?.Children.Cast<YamlMappingNode>()
            .Where(e => Scalar(e, "name") == name).Select(e => Scalar(e, "value")).FirstOrDefault();

    [Test]
    public void EvalJob_IsIndexed_CountMatchesCompletions_ArgsParse()
    {
        var job = Documents("eval-job.yaml").Single();
        Assert.That(Scalar(job, "kind"), Is.EqualTo("Job"));
        Assert.That(Scalar(job, "spec", "completionMode"), Is.EqualTo("Indexed"));
        var container = Container(job);
        Assert.That(Env(container, Shard.CountVariable), Is.EqualTo(Scalar(job, "spec", "completions")), "JOB_COMPLETIONS = spec.completions");
        var args = AssertArgsParse(container, "eval-job.yaml");
        Assert.That(args[..1], Is.EqualTo(new[] { "eval" }));
        Assert.That(args[Array.IndexOf(args, "--shard") + 1], Is.EqualTo("auto"));
        Assert.That(Get(job, "spec", "template", "spec", "volumes"), Is.InstanceOf<YamlSequenceNode>(), "a shared volume");
    }

    [Test]
    public void MergeJob_MergesTheEvalJobsResultsFolder()
    {
        var eval = AssertArgsParse(Container(Documents("eval-job.yaml").Single()), "eval-job.yaml");
        var merge = AssertArgsParse(Container(Documents("merge-job.yaml").Single()), "merge-job.yaml");
        Assert.That(merge[..2], Is.EqualTo(new[] { "eval", "merge" }));
        var results = eval[Array.IndexOf(eval, "--results") + 1];
        var config = Path.GetFileNameWithoutExtension(eval[Array.IndexOf(eval, "--config") + 1]);
        Assert.That(merge[2], Is.EqualTo($"{results}/{config}"), "the merge reads the folder the shards wrote (config name = file name)");
    }

    [Test]
    public void ServeDeployment_ReadyOnHealth_PortsAgree_ArgsParse()
    {
        var docs = Documents("serve.yaml");
        var deployment = docs.Single(d => Scalar(d, "kind") == "Deployment");
        var container = Container(deployment);
        var args = AssertArgsParse(container, "serve.yaml");
        Assert.That(args[0], Is.EqualTo("serve"));
        Assert.That(args[Array.IndexOf(args, "--host") + 1], Is.EqualTo("0.0.0.0"), "reachable from the Service");
        var port = args[Array.IndexOf(args, "--port") + 1];
        var ports = (YamlSequenceNode)Get(container, "ports")!;
        Assert.That(Scalar(ports.Children[0], "containerPort"), Is.EqualTo(port));
        Assert.That(Scalar(container, "readinessProbe", "httpGet", "path"), Is.EqualTo("/health"));
        Assert.That(Get(container, "env") is YamlSequenceNode env && env.Children.Any(e => Scalar(e, "name") == "ADARAS_API_KEY"), "the key comes from a Secret");
        var service = docs.Single(d => Scalar(d, "kind") == "Service");
        Assert.That(Scalar(service, "spec", "selector", "app"), Is.EqualTo(Scalar(deployment, "spec", "template", "metadata", "labels", "app")));
        Assert.That(Documents("storage.yaml").Single().Children.ContainsKey("spec"));
    }

    [Test]
    public void Dockerfile_EntryPointIsAdaras_OnTheAspNetRuntime()
    {
        var lines = File.ReadAllLines(Path.Combine(Deploy, "container", "Dockerfile"));
        Assert.That(lines.Count(l => l.StartsWith("FROM ", StringComparison.Ordinal)), Is.EqualTo(2), "build and runtime stages");
        Assert.That(lines.Last(l => l.StartsWith("FROM ", StringComparison.Ordinal)), Does.Contain("aspnet:10.0"), "the server needs ASP.NET Core");
        Assert.That(lines, Has.Some.EqualTo("ENTRYPOINT [\"adaras\"]"));
        Assert.That(lines, Has.Some.Contains("dotnet publish src/AdaRas.Cli"));
    }
}
