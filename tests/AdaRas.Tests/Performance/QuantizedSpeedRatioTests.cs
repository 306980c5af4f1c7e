using AdaRas.Evaluation.Speed;
using AdaRas.Evaluation.Speed.LlamaCpp;
using AdaRas.Export;
using AdaRas.Model.Synthetic;
using AdaRas.Tests.Support;
using LLama.Native;

namespace AdaRas.Tests.Performance;

/// <summary>
/// The quantized engine against llama.cpp at its own quantizations of the same weights, at equal threads (one
/// each), side by side in one run: int4 against Q4_0 and int8 against Q8_0 (targets >= 1), and at int4 what
/// steerability and steering cost (targets 0.98 and 0.99). `adaras bench` measures the 0.6B shape; this mid shape
/// (4 layers, hidden 1024) keeps CI fast while a token still costs milliseconds. The margins are wide for a noisy
/// shared machine, and a run under them is measured again (up to three times): a real regression fails them all.
/// </summary>
[Category("Performance")]
public class QuantizedSpeedRatioTests
{
    static readonly CheckpointShape Mid = PerformanceShapes.Wide;

    [Test]
    public void Int4AndInt8_DecodeAboutAsFastAsLlamaCppQ4_0AndQ8_0_AndSteeringCostsLittle()
    {
        var checkpoint = TestCheckpoints.Folder(Mid);
        string Export(ExportPrecision precision, bool steerable)
        {
            var folder = TestCheckpoints.NewFolder($"perf-{precision}-{steerable}");
            Qwen3Exporter.Export(checkpoint, folder, new ExportOptions { Precision = precision, Steerable = steerable });
            return folder;
        }
        var ggufFolder = TestCheckpoints.NewFolder("perf-gguf");
        Directory.CreateDirectory(ggufFolder);
        string f32 = Path.Combine(ggufFolder, "F32.gguf");
        Qwen3Gguf.Write(checkpoint, f32);
        string Quantize(string type, LLamaFtype ftype)
        {
            var path = Path.Combine(ggufFolder, $"{type}.gguf");
            Assert.That(LlamaCppRunner.TryQuantize(f32, path, ftype, threads: 1), Is.True, $"llama.cpp quantizes to {type}");
            return path;
        }

        BenchConfig Engine(string name, string folder, int steered = 0) => new(name, BenchRuntime.Engine, folder, 64, 48, 1, steered, Threads: 1);
        BenchConfig Llama(string name, string path) => new(name, BenchRuntime.LlamaCpp, path, 64, 48, 1, Threads: 1, Checkpoint: checkpoint);
        var int4 = Export(ExportPrecision.Int4, steerable: true);
        BenchConfig[] configs =
        [
            Engine("engine int4", int4), Llama("llama.cpp Q4_0", Quantize("Q4_0", LLamaFtype.MOSTLY_Q4_0)),
            Engine("engine int8", Export(ExportPrecision.Int8, steerable: true)), Llama("llama.cpp Q8_0", Quantize("Q8_0", LLamaFtype.MOSTLY_Q8_0)),
            Engine("engine int4, steering 50 neurons", int4, steered: 50), Engine("engine int4, plain", Export(ExportPrecision.Int4, steerable: false)),
        ];
        // The ratios and their margins: int4 / Q4_0, int8 / Q8_0, steering on / off, steerable / plain.
        (int A, int B, double Margin, string What)[] ratios =
        [
            (0, 1, 0.85, "int4 / llama.cpp Q4_0 (target 1)"), (2, 3, 0.85, "int8 / llama.cpp Q8_0 (target 1)"),
            (4, 0, 0.90, "int4 steering on / off (target 0.99)"), (0, 5, 0.85, "int4 steerable / plain (target 0.98)"),
        ];
        double[] best = new double[ratios.Length];
        for (int attempt = 1; attempt <= 3 && ratios.Where((r, i) => best[i] <= r.Margin).Any(); attempt++)
        {
            var tps = InterleavedDecode(configs, rounds: 3);
            TestContext.Out.WriteLine($"attempt {attempt}: " + string.Join(", ", configs.Select((c, i) => $"{c.Name} {tps[i]:F1} tok/s")));
            for (int i = 0; i < ratios.Length; i++) best[i] = Math.Max(best[i], tps[ratios[i].A] / tps[ratios[i].B]);
        }
        for (int i = 0; i < ratios.Length; i++) TestContext.Out.WriteLine($"{ratios[i].What}: {best[i]:F3}");
        Assert.Multiple(() =>
        {
            for (int i = 0; i < ratios.Length; i++) Assert.That(best[i], Is.GreaterThan(ratios[i].Margin), ratios[i].What);
        });
    }

    /// <summary>Median decode tokens/s of each configuration over rounds that run every configuration once (so drift hits all alike).</summary>
    static double[] InterleavedDecode(BenchConfig[] configs, int rounds)
    {
        var samples = configs.Select(_ => new List<double>()).ToArray();
        for (int round = 0; round < rounds; round++)
            for (int i = 0; i < configs.Length; i++)
                samples[i].Add(SpeedBench.RunInProcess(configs[i]).DecodeTokensPerSecond);
        return samples.Select(s => s.Order().ElementAt(s.Count / 2)).ToArray();
    }
}
