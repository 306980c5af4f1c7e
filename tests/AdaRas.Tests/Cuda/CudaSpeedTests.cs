using AdaRas.Engine;
using AdaRas.Evaluation.Speed;
using AdaRas.Export;
using AdaRas.Model;
using AdaRas.Steering;
using AdaRas.Steering.Kernels;
using AdaRas.Tests.Support;
using AdaRas.Model.Synthetic;

namespace AdaRas.Tests.Cuda;

/// <summary>
/// The H200 measurement of issue "CUDA end to end": a Qwen3-1.7B-shaped model (random weights, bf16 checkpoint,
/// fp16 export) at batch 1, 512-token prompt, 256 new tokens: steerable vs plain export and steering on vs off
/// (the paper's released AIME list for Qwen3-1.7B, K = 50, alpha 0.3, written on the device by the ILGPU kernels),
/// interleaved rounds, medians; device memory of the engine. Runs only where <c>ADARAS_CUDA_WORK</c> names a work
/// folder (tools/cuda/run-all.sh sets it; the checkpoint made there is what the transformers baseline loads).
/// </summary>
[TestFixture, Category("CudaSpeed"), NonParallelizable]
public sealed class CudaSpeedTests
{
    const int PromptTokens = 512, NewTokens = 256, K = 50;
    const float Alpha = 0.3f;

    [Test]
    public void Qwen3_1_7BShape_SteeringCostsNothing_OnTheGpu()
    {
        CudaMachine.Require();
        var work = Environment.GetEnvironmentVariable("ADARAS_CUDA_WORK");
        if (string.IsNullOrEmpty(work)) Assert.Ignore("set ADARAS_CUDA_WORK to a work folder (tools/cuda/run-all.sh does)");
        int rounds = int.TryParse(Environment.GetEnvironmentVariable("ADARAS_CUDA_ROUNDS"), out var r) ? r : 3;

        var checkpoint = Path.Combine(work, "qwen3-1.7b");
        if (!File.Exists(Path.Combine(checkpoint, "config.json")))
            RandomCheckpoint.Write(checkpoint, CheckpointShapes.Qwen3_1_7B, seed: 1, TensorDType.BF16);
        var steerableFolder = Path.Combine(work, "onnx-fp16-steerable");
        var plainFolder = Path.Combine(work, "onnx-fp16-plain");
        if (!Directory.Exists(steerableFolder)) Qwen3Exporter.Export(checkpoint, steerableFolder, new ExportOptions { Precision = ExportPrecision.Fp16 });
        if (!Directory.Exists(plainFolder)) Qwen3Exporter.Export(checkpoint, plainFolder, new ExportOptions { Precision = ExportPrecision.Fp16, Steerable = false });

        var cuda = new ModelOptions { Provider = ExecutionProvider.Cuda };
        using var device = KernelDevice.CreateCuda();
        long freeBefore = FreeDeviceMemory(device);
        using var steerable = AdaRas.Engine.LanguageModel.Load(steerableFolder, cuda);
        var pattern = Path.Combine(RepositoryRoot.Find(), "data/rcn/AIME_Qwen3-1.7B.csv");
        using var steerer = Steerer.Create(steerable, new SteeringOptions(pattern) { Neurons = K, Alpha = Alpha }, device);
        var prompt = Enumerable.Range(0, PromptTokens).Select(i => 1000 + (i * 7919) % 100000).ToArray();
        IDecodeRunner[] runners =
        [
            new EngineRunner("engine fp16, steerable, steering off", steerable),
            new EngineRunner("engine fp16, steerable, steering on (K = 50)", steerable, steerer.Tensors),
        ];
        runners[0].Run(prompt, 8); // warm-up: kernels, arena
        long engineBytes = freeBefore - FreeDeviceMemory(device);

        using var plain = AdaRas.Engine.LanguageModel.Load(plainFolder, cuda);
        runners = [.. runners, new EngineRunner("engine fp16, plain", plain)];
        foreach (var runner in runners) runner.Run(prompt, 8);

        var timings = runners.ToDictionary(x => x.Name, _ => new List<DecodeTiming>());
        for (int round = 0; round < rounds; round++)
            foreach (var runner in runners)
                timings[runner.Name].Add(runner.Run(prompt, NewTokens));
        double Median(string name, Func<DecodeTiming, double> f) =>
            timings[name].Select(f).OrderBy(v => v).ElementAt(timings[name].Count / 2);
        var rows = runners.Select(x => new
        {
            configuration = x.Name,
            prefill_tokens_per_s = Median(x.Name, t => t.PrefillTokensPerSecond),
            decode_tokens_per_s = Median(x.Name, t => t.DecodeTokensPerSecond),
            decode_spread = timings[x.Name].Select(t => t.DecodeTokensPerSecond).ToArray(),
        }).ToArray();
        double off = rows[0].decode_tokens_per_s, on = rows[1].decode_tokens_per_s, plainTps = rows[2].decode_tokens_per_s;
        CudaReport.Write("engine-speed", new
        {
            shape = "qwen3-1.7b (random weights, bf16 checkpoint, fp16 export)",
            prompt_tokens = PromptTokens, new_tokens = NewTokens, rounds, rows,
            steerable_over_plain = off / plainTps, steering_on_over_off = on / off,
            engine_device_bytes = engineBytes,
            kernel_device = device.ToString(),
        });
        TestContext.Out.WriteLine($"decode tok/s: steerable {off:F1}, steered {on:F1}, plain {plainTps:F1}; device memory {engineBytes / 1e9:F2} GB");
        Assert.That(off / plainTps, Is.GreaterThan(0.95), "steerable / plain (goal >= 0.99)");
        Assert.That(on / off, Is.GreaterThan(0.95), "steering on / off (goal >= 0.99)");
    }

    /// <summary>Free memory of the device, read on the primary context that ONNX Runtime allocates from.</summary>
    static long FreeDeviceMemory(KernelDevice device)
    {
        device.Accelerator.Bind();
        ILGPU.Runtime.Cuda.CudaException.ThrowIfFailed(ILGPU.Runtime.Cuda.CudaAPI.CurrentAPI.GetMemoryInfo(out long free, out long _));
        return free;
    }
}
