using System.Diagnostics;
using AdaRas.Tests.Support;

namespace AdaRas.Tests.Cli;

/// <summary>`adaras bench` end to end on the tiny shape: worker processes, every part, the report files.</summary>
public class BenchCommandTests
{
    [Test]
    public void Bench_OnTheTinyShape_PrintsEveryRowAndWritesItsReport()
    {
        var cache = TestCheckpoints.NewFolder("bench-cache");
        var output = TestCheckpoints.NewFolder("bench-out");
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { Path.Combine(AppContext.BaseDirectory, "adaras.dll"), "bench", "--shapes", "tiny", "--prompt", "16",
                "--new-tokens", "8", "--reps", "1", "--identify-tokens", "32", "--no-llama", "--out", output },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            Environment = { ["ADARAS_CACHE"] = cache },
        };
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        Assert.That(process.WaitForExit(300_000), Is.True, "bench finished");
        Assert.That(process.ExitCode, Is.EqualTo(0), stderr.Result);
        Assert.That(stdout, Does.Contain("| engine fp32, steerable |").And.Contain("| engine fp32, plain |").And.Contain("| GenAI fp32, steerable |")
            .And.Contain("steering 50 neurons").And.Contain("identify / scoring").And.Contain("RCN ranking").And.Contain("% of copy bandwidth").And.Contain("engine int4, steerable"));
        Assert.That(File.ReadAllText(Path.Combine(output, "bench.md")), Does.Contain("engine fp32 / GenAI fp32"));
        Assert.That(File.ReadAllText(Path.Combine(output, "bench.json")), Does.Contain("PeakResidentBytes").Or.Contain("peak_resident_bytes"));
    }

    /// <summary>
    /// The llama.cpp rows in a fresh process: the bench quantizes with llama.cpp's own quantizer before any model is
    /// loaded, which failed with DllNotFoundException until the native library was loaded first; the quantizer's
    /// per-tensor log stays out of the output; and a shape llama.cpp cannot quantize (the tiny one: rows of 64 are
    /// not whole Q4_K blocks of 256, and its fallback for Q8_0 is refused) loses those rows only, with a note.
    /// </summary>
    [Test]
    public void Bench_WithLlamaCpp_QuantizesInAFreshProcessAndPrintsItsRows()
    {
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { Path.Combine(AppContext.BaseDirectory, "adaras.dll"), "bench", "--shapes", "tiny", "--parts", "decode", "--precisions", "int4",
                "--prompt", "16", "--new-tokens", "8", "--reps", "1" },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            Environment = { ["ADARAS_CACHE"] = TestCheckpoints.NewFolder("bench-llama-cache") },
        };
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        Assert.That(process.WaitForExit(300_000), Is.True, "bench finished");
        Assert.That(process.ExitCode, Is.EqualTo(0), stderr.Result);
        Assert.That(stdout, Does.Contain("| llama.cpp F32 |").And.Contain("| llama.cpp F16, control vector of 50 neurons |"));
        Assert.That(stderr.Result, Does.Contain("quantizing to Q8_0 with llama.cpp"), "the quantizer ran in this fresh process");
        foreach (var type in new[] { "Q8_0", "Q4_0", "Q4_K_M" })
            Assert.That(stdout.Contains($"| llama.cpp {type} |") || stderr.Result.Contains($"cannot quantize this shape to {type}"), Is.True, $"{type}: a row or a note");
        Assert.That(stdout + stderr.Result, Does.Not.Contain("llama_model_quantize_impl"), "the quantizer's log is silenced");
    }
}
