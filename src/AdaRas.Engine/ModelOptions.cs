namespace AdaRas.Engine;

/// <summary>Where ONNX Runtime runs the graph.</summary>
public enum ExecutionProvider
{
    /// <summary>ONNX Runtime's CPU provider (the default build).</summary>
    Cpu,
    /// <summary>ONNX Runtime's CUDA provider; needs the CUDA build (<c>-p:AdaRasCuda=true</c>) and an NVIDIA GPU.</summary>
    Cuda,
}

/// <summary>How to load a model: the provider and ONNX Runtime's threading.</summary>
public sealed record ModelOptions
{
    /// <summary>ONNX Runtime provider (the steering kernels follow it).</summary>
    public ExecutionProvider Provider { get; init; } = ExecutionProvider.Cpu;
    /// <summary>CUDA device ordinal when <see cref="Provider"/> is CUDA.</summary>
    public int CudaDeviceId { get; init; }
    /// <summary>
    /// Threads for ONNX Runtime's intra-op pool. 0 chooses: one thread for small models (under
    /// <see cref="SmallModelBytes"/> of weights per token, where splitting each tiny operator costs more in
    /// synchronisation than it saves), otherwise ONNX Runtime's default of one per physical core.
    /// </summary>
    public int IntraOpThreads { get; init; }

    /// <summary>Weights per token under which a model runs on one thread by default (32 MiB).</summary>
    public const long SmallModelBytes = 32L << 20;
    /// <summary>
    /// Let ONNX Runtime's worker threads spin between operators. Faster on an idle machine, slower when other
    /// processes compete for the cores (the spinning steals their time).
    /// </summary>
    public bool AllowSpinning { get; init; } = true;
}
