using AdaRas.Model;
using AdaRas.Steering.ControlVectors;
using AdaRas.Steering.Patterns;
using AdaRas.Steering.Plans;
using AdaRas.Tests.Cli;
using AdaRas.Tests.Support;
using AdaRas.Model.Synthetic;

namespace AdaRas.Tests.Steering;

/// <summary>`adaras identify` (alias `probe`), `generate --steer` and `control-vector`, run in-process on the tiny model.</summary>
public sealed class RcnCliTests
{
    static readonly CheckpointShape Shape = CheckpointShapes.Tiny;
    string _dir = "", _data = "", _pattern = "", _export = "";

    static (int Code, string Out, string Err) Run(params string[] args)
    {
        var r = CliRunner.Run(args);
        return (r.ExitCode, r.Out, r.Error);
    }

    [OneTimeSetUp]
    public void ProbeOnce()
    {
        _dir = TestCheckpoints.NewFolder("rcn-cli");
        _export = TestExports.Folder(Shape);
        _data = SyntheticTrajectories.Write(Path.Combine(_dir, "set.jsonl"), SyntheticTrajectories.Make(perClass: 3));
        _pattern = Path.Combine(_dir, "pattern.csv");
        var (code, stdout, stderr) = Run("identify", "--model", _export, "--data", _data, "--out", _pattern, "--top", "40", "--chunk", "16");
        Assert.That(code, Is.EqualTo(0), stderr);
        Assert.That(stderr, Does.Contain("[identify: 6 trajectories (3 correct, 3 incorrect)"));
        Assert.That(stdout, Does.Contain($"wrote {_pattern}: top 40 of 192 neurons from 3 correct and 3 incorrect trajectories").And.Contain("6 computed"));
    }

    string Generate(params string[] extra)
    {
        var (code, stdout, stderr) = Run(["generate", "Is 7 prime?", "--model", _export, "--raw", "--max-new-tokens", "12", .. extra]);
        Assert.That(code, Is.EqualTo(0), stderr);
        return stdout;
    }

    [Test]
    public void Probe_Pattern_GenerateSteered_ChangesTheOutput()
    {
        var pattern = RcnPattern.Load(_pattern, new ModelShape(Shape.Layers, Shape.Intermediate));
        Assert.That((pattern.Count, pattern.Dialect), Is.EqualTo((40, PatternDialect.AdaRas)));

        var plain = Generate();
        var steered = Generate("--steer", _pattern, "--neurons", "10", "--alpha", "20");
        Assert.That(steered, Is.Not.EqualTo(plain));
        Assert.That(Generate("--steer", _pattern, "--neurons", "10", "--alpha", "0"), Is.EqualTo(plain), "alpha 0 steers nothing");
        Assert.That(Generate("--steer", _pattern, "--neurons", "40", "--alpha", "0.8", "--method", "linear_blend", "--positions", "all"),
            Is.Not.EqualTo(plain));

        var (_, _, stderr) = Run("generate", "Is 7 prime?", "--model", _export, "--raw", "--max-new-tokens", "2",
            "--steer", _pattern, "--neurons", "10", "--alpha", "0.3", "--method", "softplus_add");
        Assert.That(stderr, Does.Contain("[steering: softplus_add alpha=0.3 K=10 positions=last pattern=pattern.csv (identified on set;"));
    }

    [Test]
    public void Probe_RefusesToOverwrite_UnlessForced_AndReusesItsCache()
    {
        var before = File.ReadAllText(_pattern);
        var (code, _, stderr) = Run("probe", "--model", _export, "--data", _data, "--out", _pattern, "--top", "40", "--chunk", "16");
        Assert.That(code, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain($"error: {_pattern}: already exists (pass --force to replace it)"));

        var copy = Path.Combine(_dir, "forced.csv");
        File.Copy(_pattern, copy);
        Directory.CreateDirectory(copy + ".cache");
        foreach (var f in Directory.GetFiles(_pattern + ".cache")) File.Copy(f, Path.Combine(copy + ".cache", Path.GetFileName(f)));
        string stdout;
        (code, stdout, stderr) = Run("probe", "--model", _export, "--data", _data, "--out", copy, "--top", "40", "--chunk", "16", "--force");
        Assert.That(code, Is.EqualTo(0), stderr);
        Assert.That(stdout, Does.Contain("0 computed").And.Contain("6 from the cache"));
        Assert.That(File.ReadAllText(copy), Is.EqualTo(before));
    }

    [Test]
    public void BadInput_ExitsWith2_NamingFileAndLine()
    {
        var bad = Path.Combine(_dir, "bad.jsonl");
        File.WriteAllLines(bad, [.. File.ReadAllLines(_data).Take(2), """{"id": 9, "_id": 0, "is_good": true, "question": "q"}"""]);
        var (code, _, stderr) = Run("probe", "--model", _export, "--data", bad, "--out", Path.Combine(_dir, "bad.csv"));
        Assert.That(code, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain($"error: {bad}:3: missing field 'thinking'"));

        (code, _, stderr) = Run("generate", "hi", "--model", _export, "--alpha", "0.2");
        Assert.That((code, stderr), Is.EqualTo((2, "error: --alpha needs --steer <pattern.csv>" + Environment.NewLine)));

        // A Qwen3-1.7B pattern on the tiny model: the first row's layer is out of range.
        var paper = PaperPatterns.Find("gsm8k_Qwen3-1.7B").Path;
        (code, _, stderr) = Run("generate", "hi", "--model", _export, "--steer", paper);
        Assert.That(code, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain($"error: {paper}:2:").And.Contain("out of range"));

        (code, _, stderr) = Run("generate", "hi", "--model", _export, "--steer", _pattern, "--neurons", "41");
        Assert.That(code, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain("--neurons must be between 1 and the pattern's 40 rows"));
    }

    [Test]
    public void ControlVector_FromTheCheckpoint_IsTheLibrarysFile_AndChecksTheModel()
    {
        // llama.cpp cannot steer layer 0: keep the pattern's layer-1 neurons, in rank order.
        var shape = new ModelShape(Shape.Layers, Shape.Intermediate);
        var full = RcnPattern.Load(_pattern, shape);
        var upper = full.Neurons.Where(n => n.Layer >= 1).Select((n, k) =>
            new AdaRas.Steering.Rcn.RankedNeuron(k + 1, n.NeuronId, n.Layer, n.Index, n.MuPlus!.Value, n.MuMinus!.Value, n.Delta, n.Relative!.Value)).ToList();
        var upperPath = Path.Combine(_dir, "upper.csv");
        RcnPattern.Write(upperPath, upper, full.Sidecar! with { Top = upper.Count });

        var checkpointFolder = TestCheckpoints.Folder(Shape);
        var gguf = Path.Combine(_dir, "steer.gguf");
        var (code, stdout, stderr) = Run("control-vector", "--model", checkpointFolder, "--steer", upperPath, "--neurons", "5",
            "--alpha", "0.5", "--method", "softplus_add", "--out", gguf);
        Assert.That(code, Is.EqualTo(0), stderr);
        Assert.That(stdout, Does.Contain($"wrote {gguf}: softplus_add alpha=0.5 on the top 5 of upper.csv; direction.1..direction.1 (hidden 48), non-zero at 1 "));

        using (var checkpoint = Checkpoint.Open(checkpointFolder))
        {
            var expected = Path.Combine(_dir, "expected.gguf");
            ControlVector.FromPattern(checkpoint, RcnPattern.Load(upperPath, shape), 5, 0.5f, SteeringMethod.SoftplusAdd).WriteGguf(expected);
            Assert.That(File.ReadAllBytes(gguf), Is.EqualTo(File.ReadAllBytes(expected)));
        }

        (code, _, stderr) = Run("control-vector", "--model", checkpointFolder, "--steer", upperPath, "--out", gguf);
        Assert.That((code, stderr), Is.EqualTo((2, $"error: {gguf}: already exists (pass --force to replace it)" + Environment.NewLine)));
        (code, _, stderr) = Run("control-vector", "--model", checkpointFolder, "--steer", upperPath, "--neurons", "5", "--out", gguf, "--force");
        Assert.That(code, Is.EqualTo(0), stderr);

        (code, _, stderr) = Run("control-vector", "--model", _export, "--steer", upperPath, "--out", Path.Combine(_dir, "x.gguf"));
        Assert.That(code, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain("an exported model folder; control vectors need the Hugging Face checkpoint"));

        // Same shape, other weights: the pattern's sidecar names the model it was identified on.
        (code, _, stderr) = Run("control-vector", "--model", TestCheckpoints.Folder(Shape, seed: 2), "--steer", upperPath, "--neurons", "5", "--out", Path.Combine(_dir, "y.gguf"));
        Assert.That(code, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain("pattern was identified on model"));

        (code, _, stderr) = Run("control-vector", "--model", checkpointFolder, "--steer", upperPath, "--neurons", "5", "--method", "linear_blend", "--out", Path.Combine(_dir, "z.gguf"));
        Assert.That(code, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain("linear_blend scales the activation"));

        // The full pattern steers layer-0 neurons too: refused, naming the first one's line.
        var first = full.Neurons.First(n => n.Layer == 0);
        (code, _, stderr) = Run("control-vector", "--model", checkpointFolder, "--steer", _pattern, "--neurons", "40", "--out", Path.Combine(_dir, "w.gguf"));
        Assert.That(code, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain($"{_pattern}:{first.Line}: neuron {first.NeuronId} is in layer 0"));
    }
}
