using AdaRas.Engine;
using AdaRas.Evaluation.Answers;
using AdaRas.Evaluation.Benchmarks;
using AdaRas.Workflows;
using AdaRas.Export;
using AdaRas.Model;
using AdaRas.Steering;
using AdaRas.Steering.Kernels;
using AdaRas.Steering.Plans;
using AdaRas.Steering.Rcn;
using AdaRas.Tests.Support;
using AdaRas.Model.Synthetic;

namespace AdaRas.Tests.Cuda;

/// <summary>
/// The engine on ONNX Runtime's CUDA provider against the same graph on the CPU provider: greedy tokens on the
/// embedded model, steering written by ILGPU kernels on the device (primary context) and read in place by the
/// session, the activation taps, and the RCN kernels. Skipped without a GPU (see <see cref="CudaMachine"/>);
/// tools/cuda/run-all.sh runs them on one.
/// </summary>
[TestFixture, Category("Cuda"), NonParallelizable]
public sealed class CudaParityTests
{
    // GroupQueryAttention has CUDA kernels for fp16/bf16 only, so both sides run the fp16 export: the comparison is
    // provider against provider on one graph, not a precision change.
    const double LogitsTolerance = 2e-2;
    static readonly int[] Prompt = [12, 7, 99, 150, 3, 41, 8, 77];
    static readonly ModelOptions Gpu = new() { Provider = ExecutionProvider.Cuda };

    [SetUp]
    public void RequireGpu() => CudaMachine.Require();

    static string TinyFp16 => TestExports.Folder(CheckpointShapes.Tiny, precision: ExportPrecision.Fp16);

    [Test]
    public void EmbeddedModel_GreedyOnCuda_AgreesWithCpuFp32_OnTheHeldOutSet()
    {
        var repo = RepositoryRoot.Find();
        var checkpoint = Path.Combine(repo, "models", "adaras-demo");
        var fp32 = TestCheckpoints.NewFolder("cuda-demo-fp32");
        var fp16 = TestCheckpoints.NewFolder("cuda-demo-fp16");
        Qwen3Exporter.Export(checkpoint, fp32);
        Qwen3Exporter.Export(checkpoint, fp16, new ExportOptions { Precision = ExportPrecision.Fp16 });
        var test = BenchmarkFile.Load(Path.Combine(checkpoint, "test.jsonl"), BenchmarkTask.Math);

        using var cpu = AdaRas.Engine.LanguageModel.Load(fp32);
        using var gpu = AdaRas.Engine.LanguageModel.Load(fp16, Gpu);
        var checker = new MathAnswerChecker();
        int same = 0, cpuRight = 0, gpuRight = 0;
        foreach (var sample in test.Samples)
        {
            var request = new ChatRequest(PaperPrompts.MathUserMessage(sample.Question));
            var a = TextGeneration.Generate(cpu, request, new GeneratorParams { MaxNewTokens = 256 });
            var b = TextGeneration.Generate(gpu, request, new GeneratorParams { MaxNewTokens = 256 });
            if (a.TokenIds.SequenceEqual(b.TokenIds)) same++;
            if (checker.Check(sample, a.Text).Correct) cpuRight++;
            if (checker.Check(sample, b.Text).Correct) gpuRight++;
        }
        int n = test.Samples.Count;
        CudaReport.Write("greedy-agreement", new { questions = n, identical = same, cpu_fp32_correct = cpuRight, cuda_fp16_correct = gpuRight });
        TestContext.Out.WriteLine($"identical token sequences {same}/{n}; accuracy CPU fp32 {cpuRight}/{n}, CUDA fp16 {gpuRight}/{n}");
        // fp16 rounding may flip a near-tie; the accuracy must not move by more than a point.
        Assert.That(same, Is.GreaterThanOrEqualTo(n * 95 / 100), "identical greedy outputs");
        Assert.That(Math.Abs(cpuRight - gpuRight), Is.LessThanOrEqualTo(Math.Max(1, n / 100)), "accuracy");
    }

    [Test]
    public void Steering_WrittenByKernelsOnTheDevice_MatchesTheCpuPath()
    {
        using var cpuModel = AdaRas.Engine.LanguageModel.Load(TinyFp16);
        using var gpuModel = AdaRas.Engine.LanguageModel.Load(TinyFp16, Gpu);
        using var cpuDevice = KernelDevice.CreateCpu();
        using var gpuDevice = KernelDevice.CreateCuda();
        Assert.That(gpuDevice.OnPrimaryContext, Is.True, "ILGPU must share ONNX Runtime's primary context");
        var pattern = CudaPatterns.Write(cpuModel.Manifest, neurons: 20, seed: 5);
        var options = new SteeringOptions(pattern) { Neurons = 20, Alpha = 3f };
        using var cpuSteerer = Steerer.Create(cpuModel, options, cpuDevice);
        using var gpuSteerer = Steerer.Create(gpuModel, options, gpuDevice);
        Assert.That(gpuSteerer.Tensors.IsHostMemory, Is.False, "the CUDA steerer's buffers live on the device");

        var cpuSteered = Logits(cpuModel, cpuSteerer.Tensors);
        var gpuSteered = Logits(gpuModel, gpuSteerer.Tensors);
        var cpuPlain = Logits(cpuModel, null);
        var gpuPlain = Logits(gpuModel, null);
        for (int step = 0; step < cpuSteered.Count; step++)
        {
            Assert.That(Compare.RelativeError(gpuSteered[step], cpuSteered[step]), Is.LessThan(LogitsTolerance), $"steered logits, step {step}");
            var cpuEffect = cpuSteered[step].Zip(cpuPlain[step], (s, p) => s - p).ToArray();
            var gpuEffect = gpuSteered[step].Zip(gpuPlain[step], (s, p) => s - p).ToArray();
            Assert.That(Compare.RelativeError(gpuEffect, cpuEffect), Is.LessThan(0.1), $"steering effect, step {step}");
        }
    }

    /// <summary>Prefill then four greedy steps (CPU's choice of token on both sides), the last logits of each call.</summary>
    static List<float[]> Logits(AdaRas.Engine.LanguageModel model, SteeringTensors? steering)
    {
        using var g = new Generator(model, new GeneratorParams { MaxLength = 32 });
        if (steering is not null) g.Steering = steering;
        g.AppendTokens(Prompt);
        var all = new List<float[]> { g.Logits.ToArray() };
        foreach (var token in new[] { 5, 17, 60, 2 })
        {
            g.AppendTokens([token]);
            all.Add(g.Logits.ToArray());
        }
        return all;
    }

    [Test]
    public void Taps_OnCuda_MatchTheCpuProvider()
    {
        using var cpuModel = AdaRas.Engine.LanguageModel.Load(TinyFp16);
        using var gpuModel = AdaRas.Engine.LanguageModel.Load(TinyFp16, Gpu);
        (float[] Last, float[] Sum) Taps(AdaRas.Engine.LanguageModel model)
        {
            using var g = new Generator(model, new GeneratorParams { MaxLength = 32 });
            g.AppendTokens(Prompt);
            g.AppendTokens([9]);
            return (g.MlpLast.ToArray(), g.MlpSum.ToArray());
        }
        var (cpuLast, cpuSum) = Taps(cpuModel);
        var (gpuLast, gpuSum) = Taps(gpuModel);
        Assert.That(Compare.RelativeError(gpuLast, cpuLast), Is.LessThan(LogitsTolerance), "mlp.last");
        Assert.That(Compare.RelativeError(gpuSum, cpuSum), Is.LessThan(LogitsTolerance), "mlp.sum");
    }

    [Test]
    public void RcnKernels_OnTheDevice_EqualTheCpuAccelerator()
    {
        const int layers = 28, inter = 6144, trajectories = 16;
        using var cpu = KernelDevice.CreateCpu();
        using var gpu = KernelDevice.CreateCuda();
        using var a = new NeuronStatistics(cpu, layers, inter);
        using var b = new NeuronStatistics(gpu, layers, inter);
        var rng = new Random(11);
        var mean = new float[layers * inter];
        for (int t = 0; t < trajectories; t++)
        {
            for (int i = 0; i < mean.Length; i++) mean[i] = (float)(rng.NextDouble() * 2 - 1) * (i % 7 == 0 ? 3f : 0.2f);
            a.AddTrajectoryMean($"t{t}", t % 2 == 0, mean, 100 + t);
            b.AddTrajectoryMean($"t{t}", t % 2 == 0, mean, 100 + t);
        }
        var ra = a.Rank(200);
        var rb = b.Rank(200);
        Assert.That(rb.Select(n => n.NeuronId), Is.EqualTo(ra.Select(n => n.NeuronId)), "same neurons in the same order");
        for (int k = 0; k < ra.Count; k++)
        {
            Assert.That(rb[k].Delta, Is.EqualTo(ra[k].Delta).Within(1e-6f), $"delta of rank {k + 1}");
            Assert.That(rb[k].Relative, Is.EqualTo(ra[k].Relative).Within(1e-6f), $"r of rank {k + 1}");
        }
    }
}
