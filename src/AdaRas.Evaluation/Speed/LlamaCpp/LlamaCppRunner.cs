#if !ADARAS_CUDA
using System.Diagnostics;
using LLama;
using LLama.Common;
using LLama.Native;

namespace AdaRas.Evaluation.Speed.LlamaCpp;

/// <summary>
/// llama.cpp (LLamaSharp's CPU backend) on a GGUF of the same weights: prefill of the prompt in one batch, then
/// greedy decoding one token per call, at a stated number of threads; optionally with a control vector applied
/// (llama.cpp adds it to the residual stream after each layer, at every position).
/// </summary>
sealed class LlamaCppRunner : IDecodeRunner
{
    readonly LLamaWeights _weights;
    readonly ModelParams _params;
    readonly float[]? _controlVector;
    readonly int _layers, _embedding;

    /// <param name="controlVector">per-layer residual directions, [layers][hidden]; layer 0's is ignored (llama.cpp cannot steer it)</param>
    /// <param name="f32Cache">float32 KV cache (for exact parity checks); llama.cpp's default, used for speed, is F16</param>
    public LlamaCppRunner(string name, string ggufPath, int threads, int contextSize, IReadOnlyList<float[]>? controlVector = null,
        bool f32Cache = false)
    {
        Name = name;
        Quiet();
        _params = new ModelParams(ggufPath)
        {
            ContextSize = (uint)contextSize, GpuLayerCount = 0, Threads = threads, BatchThreads = threads,
            BatchSize = (uint)Math.Max(512, contextSize), UBatchSize = (uint)Math.Max(512, contextSize),
        };
        // Exact mode: float32 KV cache and no flash attention (its CPU kernel rounds Q and K/V products to F16).
        if (f32Cache)
        {
            _params.TypeK = GGMLType.GGML_TYPE_F32;
            _params.TypeV = GGMLType.GGML_TYPE_F32;
            _params.FlashAttention = false;
        }
        _weights = LLamaWeights.LoadFromFile(_params);
        _layers = _weights.NativeHandle.LayerCount;
        _embedding = _weights.NativeHandle.EmbeddingSize;
        if (controlVector is not null)
        {
            if (controlVector.Count != _layers || controlVector.Any(v => v.Length != _embedding))
                throw new ArgumentException($"control vector must be {_layers} x {_embedding}");
            // llama_set_adapter_cvec reads layer il's vector at offset n_embd * (il - 1), il = 1..n_layer-1.
            _controlVector = controlVector.Skip(1).SelectMany(v => v).ToArray();
        }
    }

    public string Name { get; }

    static int _quiet;
    static void Quiet()
    {
        if (Interlocked.Exchange(ref _quiet, 1) == 1) return;
        NativeLogConfig.llama_log_set((level, message) => { if (level == LLamaLogLevel.Error) Console.Error.Write(message); });
    }

    LLamaContext NewContext()
    {
        var context = _weights.CreateContext(_params);
        if (_controlVector is not null)
        {
            unsafe
            {
                fixed (float* data = _controlVector)
                {
                    int rc = NativeApi.llama_set_adapter_cvec(context.NativeHandle, data, (nuint)_controlVector.Length, _embedding, 1, _layers - 1);
                    if (rc != 0) throw new InvalidOperationException($"llama.cpp refused the control vector ({rc})");
                }
            }
        }
        return context;
    }

    public DecodeTiming Run(int[] prompt, int newTokens)
    {
        using var context = NewContext();
        var batch = new LLamaBatch();
        for (int i = 0; i < prompt.Length; i++) batch.Add((LLamaToken)prompt[i], i, LLamaSeqId.Zero, i == prompt.Length - 1);
        var clock = Stopwatch.StartNew();
        Decode(context, batch);
        double prefill = clock.Elapsed.TotalSeconds;
        int next = ArgMax(context.NativeHandle.GetLogitsIth(batch.TokenCount - 1));
        int position = prompt.Length;
        clock.Restart();
        int steps = 1;
        while (steps < newTokens)
        {
            batch.Clear();
            batch.Add((LLamaToken)next, position++, LLamaSeqId.Zero, true);
            Decode(context, batch);
            next = ArgMax(context.NativeHandle.GetLogitsIth(0));
            steps++;
        }
        return new DecodeTiming(prefill, prompt.Length, clock.Elapsed.TotalSeconds, steps - 1);
    }

    /// <summary>Logits of every position of <paramref name="ids"/> in one call (for parity checks against the engine).</summary>
    public float[] AllLogits(int[] ids)
    {
        using var context = NewContext();
        var batch = new LLamaBatch();
        for (int i = 0; i < ids.Length; i++) batch.Add((LLamaToken)ids[i], i, LLamaSeqId.Zero, true);
        Decode(context, batch);
        int vocab = _weights.NativeHandle.Vocab.Count;
        var result = new float[ids.Length * vocab];
        for (int i = 0; i < ids.Length; i++) context.NativeHandle.GetLogitsIth(i).CopyTo(result.AsSpan(i * vocab, vocab));
        return result;
    }

    static void Decode(LLamaContext context, LLamaBatch batch)
    {
        var result = context.NativeHandle.Decode(batch);
        if (result != DecodeResult.Ok) throw new InvalidOperationException($"llama_decode failed: {result}");
    }

    static int ArgMax(ReadOnlySpan<float> logits)
    {
        int best = 0;
        for (int i = 1; i < logits.Length; i++) if (logits[i] > logits[best]) best = i;
        return best;
    }

    /// <summary>
    /// Quantizes a GGUF with llama.cpp's own quantizer (llama_model_quantize); false when llama.cpp refuses (a shape
    /// whose rows are not whole blocks of the type, as the tiny test shapes are).
    /// </summary>
    public static bool TryQuantize(string source, string destination, LLamaFtype type, int threads)
    {
        // LLamaSharp installs its native-library resolver (which picks runtimes/<rid>/native/<cpu flavour>/libllama)
        // in NativeApi's static constructor; the quantizer's own P/Invoke does not run it, so a process that
        // quantizes before loading any model fails with DllNotFoundException. Load the library first.
        Quiet(); // the quantizer logs every tensor otherwise
        NativeApi.llama_empty_call();
        return LLamaQuantizer.Quantize(source, destination, type, threads);
    }

    public void Dispose() => _weights.Dispose();
}
#endif
