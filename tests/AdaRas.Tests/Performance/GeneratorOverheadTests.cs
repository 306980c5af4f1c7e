using System.Diagnostics;
using System.Reflection;
using AdaRas.Engine;
using AdaRas.Export;
using AdaRas.Model;
using AdaRas.Model.Synthetic;
using AdaRas.Tests.Support;
using Microsoft.ML.OnnxRuntime;

namespace AdaRas.Tests.Performance;

/// <summary>
/// What the one-row <see cref="BatchGenerator"/> behind <see cref="Generator"/> costs per decode step beyond the ONNX
/// Runtime call itself: the same session and binding run bare (the step's forward pass with nothing around it)
/// against full <see cref="Generator.GenerateNextToken"/> steps (sample, bind mask/KV/logits/taps/steering, run,
/// append), interleaved, on the embedded demo model (a step is tens of microseconds, so overhead shows) and on a
/// mid-sized one (a few ms, as at scale). Managed allocation per step is measured exactly.
/// </summary>
[Category("Performance")]
public sealed class GeneratorOverheadTests
{
    static readonly CheckpointShape Mid = CheckpointShapes.Tiny with
    {
        Name = "perf-overhead", Hidden = 512, Intermediate = 1536, Layers = 8, Heads = 8, KvHeads = 4, HeadDim = 64, MaxPositions = 512,
    };

    sealed record Measurement(double StepMicros, double RawMicros, double BytesPerStep)
    {
        public double Overhead => StepMicros / RawMicros;
        public override string ToString() =>
            $"step {StepMicros:F1} us, bare session run {RawMicros:F1} us, ratio {Overhead:F3}, {BytesPerStep:F0} managed bytes per step";
    }

    static Measurement Measure(string folder, int steps = 64, int rounds = 5)
    {
        using var model = LanguageModel.Load(folder, new ModelOptions { IntraOpThreads = 1 });
        var prompt = Enumerable.Range(0, 32).Select(i => (i * 37 + 11) % Math.Min(500, model.Manifest.VocabSize)).ToArray();
        var stepSamples = new List<double>();
        var rawSamples = new List<double>();
        double bytes = 0;
        for (int round = 0; round <= rounds; round++) // round 0 warms up
        {
            using var generator = new Generator(model, new GeneratorParams { MaxNewTokens = steps + 2, StopTokenIds = [] });
            generator.AppendTokens(prompt);
            generator.GenerateNextToken();
            long allocated = GC.GetAllocatedBytesForCurrentThread();
            var clock = Stopwatch.StartNew();
            for (int i = 0; i < steps; i++) generator.GenerateNextToken();
            double step = clock.Elapsed.TotalMicroseconds / steps;
            double perStep = (GC.GetAllocatedBytesForCurrentThread() - allocated) / (double)steps;
            double raw = BareRuns(model, generator, steps);
            if (round == 0) continue;
            stepSamples.Add(step);
            rawSamples.Add(raw);
            bytes = perStep;
        }
        return new(Median(stepSamples), Median(rawSamples), bytes);
    }

    /// <summary>The generator's own binding run <paramref name="steps"/> times with nothing else (mask rebound to a live array).</summary>
    static double BareRuns(LanguageModel model, Generator generator, int steps)
    {
        var batch = (BatchGenerator)Field(generator, "_batch");
        var binding = (OrtIoBinding)Field(batch, "_binding");
        var runOptions = (RunOptions)Field(batch, "_runOptions");
        var mask = Enumerable.Repeat(1L, generator.Length).ToArray();
        using var maskValue = OrtValue.CreateTensorValueFromMemory(mask, [1, mask.Length]);
        binding.BindInput(GraphNames.AttentionMask, maskValue);
        model.Session.RunWithBinding(runOptions, binding);
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < steps; i++) model.Session.RunWithBinding(runOptions, binding);
        return clock.Elapsed.TotalMicroseconds / steps;
    }

    static object Field(object owner, string name) =>
        owner.GetType().GetField(name, BindingFlags.Instance | BindingFlags.NonPublic)!.GetValue(owner)!;

    static double Median(List<double> xs) => xs.Order().ElementAt(xs.Count / 2);

    static string DemoFolder()
    {
        var folder = TestCheckpoints.NewFolder("demo-overhead");
        Qwen3Exporter.Export(Path.Combine(RepositoryRoot.Find(), "models", "adaras-demo"), folder);
        return folder;
    }

    static string MidFolder()
    {
        var folder = TestCheckpoints.NewFolder("mid-overhead");
        Qwen3Exporter.Export(TestCheckpoints.Folder(Mid), folder);
        return folder;
    }

    [Test]
    public void OneRowGenerator_AddsLittleToTheSessionRun()
    {
        var demo = Measure(DemoFolder());
        var mid = Measure(MidFolder());
        TestContext.Out.WriteLine($"demo model: {demo}");
        TestContext.Out.WriteLine($"mid model:  {mid}");
        // A decode step allocates a few small managed objects (the attention-mask tensor wrapper); nothing per token
        // grows with the vocabulary or the model.
        Assert.That(demo.BytesPerStep, Is.LessThan(2048));
        Assert.That(mid.BytesPerStep, Is.LessThan(2048));
        // At a realistic step cost the bookkeeping must vanish in the noise; generous for a shared machine.
        Assert.That(mid.Overhead, Is.LessThan(1.25), mid.ToString());
    }
}
