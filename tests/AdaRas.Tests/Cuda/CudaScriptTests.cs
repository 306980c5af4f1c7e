using System.Diagnostics;
using System.Text.Json.Nodes;
using AdaRas.Tests.Support;

namespace AdaRas.Tests.Cuda;

/// <summary>
/// The parts of tools/cuda that run on any machine, checked in every CI run so the GPU run cannot rot: the
/// transformers baseline's hook and timing loop (on the demo trainer's torch model, CPU) and the report.
/// </summary>
public sealed class CudaScriptTests
{
    static string Repo => RepositoryRoot.Find();

    static (int ExitCode, string Output) Python(params string[] args)
    {
        var start = new ProcessStartInfo(PythonTorch.Interpreter) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) start.ArgumentList.Add(a);
        using var p = Process.Start(start)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, stdout.Result + stderr);
    }

    static string Pattern()
    {
        var path = Path.Combine(Directory.CreateDirectory(TestCheckpoints.NewFolder("cuda-script-pattern")).FullName, "pattern.csv");
        File.WriteAllLines(path, ["overall_neuron_index,layer,neuron_index_in_layer,weight,abs_weight", "3,0,3,1.5,1.5", "200,1,8,-2,2"]);
        return path;
    }

    string[] Baseline(string output, string alpha) =>
    [
        Path.Combine(Repo, "tools", "cuda", "hf_baseline.py"), "--model", Path.Combine(Repo, "models", "adaras-demo"),
        "--impl", "demo", "--device", "cpu", "--dtype", "fp32", "--prompt", "24", "--new", "8", "--rounds", "1",
        "--neurons", "2", "--alpha", alpha, "--pattern", Pattern(), "--out", output,
    ];

    [Test]
    public void Baseline_TimesBothRows_AndItsHookIsLive()
    {
        if (!PythonTorch.Available) Assert.Ignore("python3-torch is not installed (tools/test.sh installs it as root)");
        var output = Path.Combine(Directory.CreateDirectory(TestCheckpoints.NewFolder("cuda-hf")).FullName, "hf.json");
        var (code, text) = Python(Baseline(output, "3"));
        Assert.That(code, Is.EqualTo(0), text);
        var json = JsonNode.Parse(File.ReadAllText(output))!;
        var rows = json["rows"]!.AsArray();
        Assert.That(rows, Has.Count.EqualTo(2));
        Assert.That(rows.Select(r => r!["decode_tokens_per_s"]!.GetValue<double>()), Is.All.GreaterThan(0));
        Assert.That(json["hook_max_logit_change"]!.GetValue<double>(), Is.GreaterThan(1e-4));
    }

    [Test]
    public void Baseline_RefusesAHookThatChangesNothing()
    {
        if (!PythonTorch.Available) Assert.Ignore("python3-torch is not installed (tools/test.sh installs it as root)");
        var (code, text) = Python(Baseline(Path.Combine(Directory.CreateDirectory(TestCheckpoints.NewFolder("cuda-hf0")).FullName, "hf.json"), "0"));
        Assert.That(code, Is.Not.EqualTo(0));
        Assert.That(text, Does.Contain("did not change the logits"));
    }

    [Test]
    public void Report_ComputesTheSideBySideRatios()
    {
        var dir = Directory.CreateDirectory(TestCheckpoints.NewFolder("cuda-report")).FullName;
        var work = Directory.CreateDirectory(TestCheckpoints.NewFolder("cuda-report-work")).FullName;
        object Row(string name, double decode) => new { configuration = name, prefill_tokens_per_s = 1000.0, decode_tokens_per_s = decode, decode_spread = new[] { decode } };
        File.WriteAllText(Path.Combine(dir, "engine-speed.json"), System.Text.Json.JsonSerializer.Serialize(new
        {
            shape = "s", prompt_tokens = 512, new_tokens = 256, rounds = 3, kernel_device = "k",
            rows = new[] { Row("engine off", 300), Row("engine on", 297), Row("engine plain", 301) },
            steerable_over_plain = 300.0 / 301, steering_on_over_off = 0.99, engine_device_bytes = 4L << 30,
        }));
        File.WriteAllText(Path.Combine(dir, "hf.json"), System.Text.Json.JsonSerializer.Serialize(new
        {
            rows = new[] { Row("hf off", 60), Row("hf on", 48) }, hook_over_no_hook = 0.8, hook_max_logit_change = 0.5,
            peak_allocated_bytes = 5L << 30, peak_reserved_bytes = 6L << 30,
        }));
        File.WriteAllText(Path.Combine(work, "mem-engine.txt"), "100\n4200\n3900\n");
        var (code, text) = Python(Path.Combine(Repo, "tools", "cuda", "report.py"), dir, work);
        Assert.That(code, Is.EqualTo(0), text);
        Assert.That(text, Does.Contain("engine / transformers decode (no steering): **5.00x**"));
        Assert.That(text, Does.Contain("steering cost: engine 1.00% of decode speed, paper hook 20.00%"));
        Assert.That(text, Does.Contain("4200 MiB"));
    }
}
