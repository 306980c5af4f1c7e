namespace AdaRas.Engine;

public enum ExecutionProvider
{
    /// <summary>ONNX Runtime's CPU provider (the default build).</summary>
    Cpu,
    /// <summary>ONNX Runtime's CUDA provider; needs the CUDA build (<c>-p:AdaRasCuda=true</c>) and an NVIDIA GPU.</summary>
    Cuda,
}

public sealed record ModelOptions
{
    public ExecutionProvider Provider { get; init; } = ExecutionProvider.Cpu;
    public int CudaDeviceId { get; init; }
    /// <summary>
    /// Threads for ONNX Runtime's intra-op pool. 0 chooses: one thread for small models (under
    /// <see cref="SmallModelBytes"/> of weights per token, where splitting each tiny operator costs more in
    /// synchronisation than it saves), otherwise ONNX Runtime's default of one per physical core.
    /// </summary>
    public int IntraOpThreads { get; init; }

    public const long SmallModelBytes = 32L << 20;
    /// <summary>
    /// Let ONNX Runtime's worker threads spin between operators. Faster on an idle machine, slower when other
    /// processes compete for the cores (the spinning steals their time).
    /// </summary>
    public bool AllowSpinning { get; init; } = true;
}
