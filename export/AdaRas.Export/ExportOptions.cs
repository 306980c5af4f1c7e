namespace AdaRas.Export;

/// <summary>Numeric precision of the exported graph's weights, activations and KV cache.</summary>
public enum ExportPrecision
{
    /// <summary>float32 everywhere: the CPU default.</summary>
    Fp32,
    /// <summary>float16 weights, activations and KV cache (for the CUDA provider); steering inputs, taps and logits stay float32.</summary>
    Fp16,
}

public enum ExternalDataMode { Auto, Always, Never }

public sealed record ExportOptions
{
    public ExportPrecision Precision { get; init; } = ExportPrecision.Fp32;
    /// <summary>False exports plain Qwen3 without steering inputs or taps, to measure what steerability costs.</summary>
    public bool Steerable { get; init; } = true;
    /// <summary>Auto puts weights in <c>model.onnx.data</c> once they approach the 2 GiB protobuf limit.</summary>
    public ExternalDataMode ExternalData { get; init; } = ExternalDataMode.Auto;
    /// <summary>Replace an existing output folder.</summary>
    public bool Overwrite { get; init; }
    /// <summary>
    /// Skips the refusal of NaN or infinite weights. Only for tests of the guards further down (activations, logits),
    /// which need such a model to exist.
    /// </summary>
    public bool AllowNonFiniteWeights { get; init; }
    /// <summary>Longest sequence the graph's rotary cache and GenAI's KV cache cover; default max_position_embeddings.</summary>
    public int? ContextLength { get; init; }

    /// <summary>Above this many weight bytes, Auto switches to external data (protobuf's hard limit is 2 GiB).</summary>
    public const long InlineLimitBytes = 1L << 30;
}

/// <summary>Progress of an export: which step, and how many weight bytes are done out of the total.</summary>
public sealed record ExportProgress(string Step, long BytesDone, long BytesTotal);
