using AdaRas.Model;
using Onnx;

namespace AdaRas.Export;

/// <summary>
/// Builds the Qwen3 decoder graph for ONNX Runtime's CPU/CUDA providers, in the layout ONNX Runtime GenAI uses
/// for Qwen3 (GroupQueryAttention with fused rotary embedding and a shared past/present KV buffer,
/// SimplifiedLayerNormalization, packed QKV and gate/up MatMuls), plus the AdaRas contract when steerable:
///
///   a   = silu(gate(x)) * up(x)                  the MLP intermediate, [batch, seq, I] per layer
///   a'  = where(steered position, a*scale + shift, a)   steering.{l}.scale / .shift, positions from steering_from
///   taps: mlp.last (a at the last position), mlp.sum (a summed over positions), mlp.features (a gathered
///         at features.{l}.indices per token) — all pre-steering, float32, computed only when taps_enabled.
/// </summary>
sealed class Qwen3GraphBuilder
{
    readonly Checkpoint _checkpoint;
    readonly Qwen3Config _c;
    readonly ExportOptions _options;
    readonly WeightStore _weights;
    readonly OnnxGraph _g = new();
    readonly int _io;          // element type of activations and weights
    readonly int _kv;          // element type of the KV cache (and of attention's inputs and rotary tables)
    readonly int _bits;        // 4 or 8: projections are MatMulNBits; 0: float MatMul
    QuantizedWeight? _tiedQuantized; // tied embeddings, quantized: the lookup and lm_head share one table
    readonly int _contextLength;
    readonly Action<string, long> _progress;

    const string Batch = "batch_size", Seq = "sequence_length", Total = "total_sequence_length", Past = "past_sequence_length";

    public Qwen3GraphBuilder(Checkpoint checkpoint, ExportOptions options, WeightStore weights, int contextLength, Action<string, long> progress)
    {
        _checkpoint = checkpoint;
        _c = checkpoint.Config;
        _options = options;
        _weights = weights;
        _io = options.Precision == ExportPrecision.Fp16 ? OnnxGraph.Float16 : OnnxGraph.Float;
        _kv = options.HalfKvCache ? OnnxGraph.Float16 : OnnxGraph.Float;
        _bits = options.Precision switch { ExportPrecision.Int8 => 8, ExportPrecision.Int4 => 4, _ => 0 };
        _contextLength = contextLength;
        _progress = progress;
    }

// Long on purpose: the decoder graph in the order ONNX Runtime GenAI's builder emits it (inputs, layers, norm,
// lm_head, taps); each node is a call to a small helper.
    public GraphProto Build()
    {
        int layers = _c.NumHiddenLayers, inter = _c.IntermediateSize;
        DeclareInputsAndOutputs();

        string x = EmbeddingLookup();
        _progress("embedding", (long)_c.VocabSize * _c.HiddenSize);

        var (seqlensK, totalSeqLen) = AttentionMaskInfo();
        var (cos, sin) = RotaryCaches();
        string? steerMask = _options.Steerable ? SteeredPositionMask() : null;

        var tapSites = new List<string>(); // each layer's pre-steering intermediate, float32

        string residual = x;
        string? pendingAdd = null; // output of the previous block, added to the residual by the next SkipSimplifiedLayerNorm
        for (int l = 0; l < layers; l++)
        {
            string p = $"/model/layers.{l}";
            string h;
            (h, residual) = Norm($"{p}/input_layernorm", Qwen3Weights.Layer(l, Qwen3Weights.InputNorm), pendingAdd, residual);

            string attn = Attention(l, h, seqlensK, totalSeqLen, cos, sin);
            (h, residual) = Norm($"{p}/post_attention_layernorm", Qwen3Weights.Layer(l, Qwen3Weights.PostAttentionNorm), attn, residual);

            // MLP: gate and up share one MatMul; a = silu(gate) * up is the steering and tap site.
            string gateUp = Linear($"{p}/mlp/gate_up_proj", "gate_up_proj", h,
                Qwen3Weights.Layer(l, Qwen3Weights.GateProj), Qwen3Weights.Layer(l, Qwen3Weights.UpProj));
            var gu = _g.Node("Split", $"{p}/mlp/Split", [gateUp, _g.Int64Constant([inter, inter])], 2, "", ("axis", -1L));
            string sig = _g.One("Sigmoid", $"{p}/mlp/act_fn/Sigmoid", [gu[0]]);
            string silu = _g.One("Mul", $"{p}/mlp/act_fn/Mul", [gu[0], sig]);
            string a = _g.One("Mul", $"{p}/mlp/Mul", [silu, gu[1]]);

            if (steerMask is not null)
            {
                tapSites.Add(a);
                a = Steer(l, a, steerMask);
            }

            pendingAdd = Linear($"{p}/mlp/down_proj", "down_proj", a, Qwen3Weights.Layer(l, Qwen3Weights.DownProj));
            _progress($"layer {l + 1}/{layers}", LayerBytes());
        }

        var (final, _) = Norm("/model/norm", Qwen3Weights.FinalNorm, pendingAdd, residual);
        // logits_from lets callers skip the vocabulary projection for positions they don't need.
        string selected = _g.One("Slice", "/model/logits_from/Slice",
            [final, GraphNames.LogitsFrom, _g.Int64Constant([long.MaxValue]), _g.Int64Constant([1])]);
        string logits = LmHead(selected, _io == OnnxGraph.Float ? GraphNames.Logits : null);
        if (_io != OnnxGraph.Float)
            _g.NodeWithOutputs("Cast", "/lm_head/Cast", [logits], [GraphNames.Logits], "", ("to", (long)OnnxGraph.Float));
        _progress("lm_head", (long)_c.VocabSize * _c.HiddenSize);

        if (steerMask is not null) Taps(tapSites);
        return _g.Proto;
    }

    /// <summary>
    /// mlp.last, mlp.sum and mlp.features behind an If on taps_enabled: three small nodes per layer are a few percent
    /// of a quantized decode step, so a call that reads no taps skips them and gets empty outputs instead.
    /// </summary>
    void Taps(IReadOnlyList<string> sites)
    {
        var names = GraphNames.TapOutputs;
        var compute = _g.Subgraph("taps_compute");
        var last = new List<string>();
        var sum = new List<string>();
        var features = new List<string>();
        for (int l = 0; l < sites.Count; l++)
        {
            string p = $"/model/layers.{l}/mlp/taps";
            string a = _io == OnnxGraph.Float ? sites[l] : compute.One("Cast", $"{p}/Cast", [sites[l]], "", ("to", (long)OnnxGraph.Float));
            last.Add(compute.One("Slice", $"{p}/last", [a, _g.Int64Constant([-1]), _g.Int64Constant([long.MaxValue]), _g.Int64Constant([1])]));
            sum.Add(compute.One("ReduceSum", $"{p}/sum", [a, _g.Int64Constant([1])], "", ("keepdims", 1L)));
            features.Add(compute.One("Gather", $"{p}/features", [a, GraphNames.FeatureIndices(l)], "", ("axis", 2L)));
        }
        long[] axes = [1, 1, 2];
        List<string>[] parts = [last, sum, features];
        var skip = _g.Subgraph("taps_skip");
        for (int t = 0; t < names.Count; t++)
        {
            string computed = $"/model/taps/compute/{names[t]}", empty = $"/model/taps/skip/{names[t]}";
            compute.NodeWithOutputs("Concat", $"/model/taps/{names[t]}/Concat", parts[t], [computed], "", ("axis", axes[t]));
            compute.UnshapedOutput(computed, OnnxGraph.Float);
            var none = new TensorProto { Name = empty, DataType = OnnxGraph.Float };
            none.Dims.AddRange([0, t < 2 ? sites.Count : 0, t < 2 ? _c.IntermediateSize : 0]);
            skip.NodeWithOutputs("Constant", $"/model/taps/{names[t]}/Empty", [], [empty], "", ("value", none));
            skip.UnshapedOutput(empty, OnnxGraph.Float);
        }
        _g.NodeWithOutputs("If", "/model/taps/If", [GraphNames.TapsEnabled], names, "",
            ("then_branch", compute.Proto), ("else_branch", skip.Proto));
    }

    long LayerBytes()
    {
        long h = _c.HiddenSize, i = _c.IntermediateSize, q = (long)_c.NumAttentionHeads * _c.HeadDim, kv = (long)_c.NumKeyValueHeads * _c.HeadDim;
        return h * (q + 2 * kv) + q * h + 3 * h * i;
    }

    void DeclareInputsAndOutputs()
    {
        int layers = _c.NumHiddenLayers, kv = _c.NumKeyValueHeads, hd = _c.HeadDim, inter = _c.IntermediateSize;
        _g.Input(GraphNames.InputIds, OnnxGraph.Int64, Batch, Seq);
        _g.Input(GraphNames.AttentionMask, OnnxGraph.Int64, Batch, Total);
        for (int l = 0; l < layers; l++)
        {
            _g.Input(GraphNames.PastKey(l), _kv, Batch, kv, Past, hd);
            _g.Input(GraphNames.PastValue(l), _kv, Batch, kv, Past, hd);
        }
        _g.Input(GraphNames.LogitsFrom, OnnxGraph.Int64, 1);
        _g.Initializer(Int64Tensor(GraphNames.LogitsFrom, [0]));

        if (_options.Steerable)
        {
            // Inputs with same-named initializers: a caller that feeds nothing gets plain Qwen3.
            var ones = new float[inter];
            Array.Fill(ones, 1f);
            var zeros = new float[inter];
            for (int l = 0; l < layers; l++)
            {
                _g.Input(GraphNames.SteeringScale(l), OnnxGraph.Float, "steer_batch", 1, inter);
                _g.Initializer(_weights.AddFloat32(GraphNames.SteeringScale(l), ones, 1, 1, inter));
                _g.Input(GraphNames.SteeringShift(l), OnnxGraph.Float, "steer_batch", 1, inter);
                _g.Initializer(_weights.AddFloat32(GraphNames.SteeringShift(l), zeros, 1, 1, inter));
                _g.Input(GraphNames.FeatureIndices(l), OnnxGraph.Int64, $"features_{l}");
                _g.Initializer(Int64Tensor(GraphNames.FeatureIndices(l), []));
            }
            _g.Input(GraphNames.SteeringFrom, OnnxGraph.Int64, 1);
            _g.Initializer(Int64Tensor(GraphNames.SteeringFrom, [-1]));
            _g.Input(GraphNames.TapsEnabled, OnnxGraph.Bool, 1);
            _g.Initializer(new TensorProto { Name = GraphNames.TapsEnabled, DataType = OnnxGraph.Bool, Dims = { 1 }, Int32Data = { 1 } });
        }

        _g.Output(GraphNames.Logits, OnnxGraph.Float, Batch, "logits_length", _c.VocabSize);
        for (int l = 0; l < layers; l++)
        {
            _g.Output(GraphNames.PresentKey(l), _kv, Batch, kv, Total, hd);
            _g.Output(GraphNames.PresentValue(l), _kv, Batch, kv, Total, hd);
        }
        if (_options.Steerable)
        {
            _g.Output(GraphNames.TapLast, OnnxGraph.Float, Batch, layers, inter);
            _g.Output(GraphNames.TapSum, OnnxGraph.Float, Batch, layers, inter);
            _g.Output(GraphNames.TapFeatures, OnnxGraph.Float, Batch, Seq, "num_features");
        }
    }

    static TensorProto Int64Tensor(string name, long[] values)
    {
        var t = new TensorProto { Name = name, DataType = OnnxGraph.Int64 };
        t.Dims.Add(values.Length);
        t.Int64Data.AddRange(values);
        return t;
    }

    /// <summary>GroupQueryAttention wants seqlens_k (valid length - 1 per row) and the total length, both int32.</summary>
    (string SeqlensK, string TotalSeqLen) AttentionMaskInfo()
    {
        const string p = "/model/attn_mask_reformat";
        string sum = _g.One("ReduceSum", $"{p}/ReduceSum", [GraphNames.AttentionMask, _g.Int64Constant([1])], "", ("keepdims", 0L));
        string minus1 = _g.One("Sub", $"{p}/Sub", [sum, _g.Int64Scalar(1)]);
        string seqlensK = _g.One("Cast", $"{p}/Sub/Cast", [minus1], "", ("to", (long)OnnxGraph.Int32));
        string shape = _g.One("Shape", $"{p}/Shape", [GraphNames.AttentionMask]);
        string total = _g.One("Gather", $"{p}/Gather", [shape, _g.Int64Scalar(1)], "", ("axis", 0L));
        string totalSeqLen = _g.One("Cast", $"{p}/Gather/Cast", [total], "", ("to", (long)OnnxGraph.Int32));
        return (seqlensK, totalSeqLen);
    }

    /// <summary>cos/sin tables [context, head_dim/2] for the rotate-half RoPE that GroupQueryAttention applies.</summary>
    (string Cos, string Sin) RotaryCaches()
    {
        int half = _c.HeadDim / 2;
        var cos = new float[(long)_contextLength * half];
        var sin = new float[cos.Length];
        for (int i = 0; i < half; i++)
        {
            double invFreq = 1.0 / Math.Pow(_c.RopeTheta, 2.0 * i / _c.HeadDim);
            for (int pos = 0; pos < _contextLength; pos++)
            {
                // HF computes inv_freq and the angle in float32; matching that keeps long positions in parity.
                float angle = (float)pos * (float)invFreq;
                cos[(long)pos * half + i] = MathF.Cos(angle);
                sin[(long)pos * half + i] = MathF.Sin(angle);
            }
        }
        // In the cache's type: GroupQueryAttention takes q/k/v, the cache and the rotary tables in one type.
        TensorProto Table(string name, float[] values) =>
            _kv == OnnxGraph.Float16 ? _weights.AddFloat16(name, values, _contextLength, half) : _weights.AddFloat32(name, values, _contextLength, half);
        _g.Initializer(Table("cos_cache", cos));
        _g.Initializer(Table("sin_cache", sin));
        return ("cos_cache", "sin_cache");
    }

    /// <summary>Boolean [1, seq, 1]: position >= steering_from (negative counts from the end of the call).</summary>
    string SteeredPositionMask()
    {
        const string p = "/model/steering/positions";
        string shape = _g.One("Shape", $"{p}/Shape", [GraphNames.InputIds], "", ("start", 1L), ("end", 2L));
        string negative = _g.One("Less", $"{p}/Less", [GraphNames.SteeringFrom, _g.Int64Scalar(0)]);
        string fromEnd = _g.One("Add", $"{p}/Add", [GraphNames.SteeringFrom, shape]);
        string start = _g.One("Where", $"{p}/Where", [negative, fromEnd, GraphNames.SteeringFrom]);
        string length = _g.One("Squeeze", $"{p}/Squeeze", [shape, _g.Int64Constant([0])]);
        string positions = _g.One("Range", $"{p}/Range", [_g.Int64Scalar(0), length, _g.Int64Scalar(1)]);
        string steered = _g.One("GreaterOrEqual", $"{p}/GreaterOrEqual", [positions, start]);
        return _g.One("Unsqueeze", $"{p}/Unsqueeze", [steered, _g.Int64Constant([0, 2])]);
    }

    /// <summary>a' = where(steered, a * scale + shift, a); steering inputs are float32 and cast for fp16 graphs.</summary>
    string Steer(int l, string a, string mask)
    {
        string p = $"/model/layers.{l}/mlp/steering";
        string scale = GraphNames.SteeringScale(l), shift = GraphNames.SteeringShift(l);
        if (_io != OnnxGraph.Float)
        {
            scale = _g.One("Cast", $"{p}/scale/Cast", [scale], "", ("to", (long)_io));
            shift = _g.One("Cast", $"{p}/shift/Cast", [shift], "", ("to", (long)_io));
        }
        string scaled = _g.One("Mul", $"{p}/Mul", [a, scale]);
        string affine = _g.One("Add", $"{p}/Add", [scaled, shift]);
        return _g.One("Where", $"{p}/Where", [mask, affine, a]);
    }

    string Attention(int l, string h, string seqlensK, string totalSeqLen, string cos, string sin)
    {
        string p = $"/model/layers.{l}/attn";
        int heads = _c.NumAttentionHeads, kvHeads = _c.NumKeyValueHeads, hd = _c.HeadDim;
        long q = (long)heads * hd, kv = (long)kvHeads * hd;
        string qkv = Linear($"{p}/qkv_proj", "qkv_proj", h,
            Qwen3Weights.Layer(l, Qwen3Weights.QProj), Qwen3Weights.Layer(l, Qwen3Weights.KProj), Qwen3Weights.Layer(l, Qwen3Weights.VProj));
        var parts = _g.Node("Split", $"{p}/Split", [qkv, _g.Int64Constant([q, kv, kv])], 3, "", ("axis", -1L));
        string qn = HeadNorm($"{p}/q_norm", parts[0], Qwen3Weights.Layer(l, Qwen3Weights.QNorm), heads);
        string kn = HeadNorm($"{p}/k_norm", parts[1], Qwen3Weights.Layer(l, Qwen3Weights.KNorm), kvHeads);
        string v = parts[2];
        if (_kv != _io) // a float16 cache in a float32 graph: attention runs in float16, its output comes back as float32
            (qn, kn, v) = (ToKv($"{p}/q", qn), ToKv($"{p}/k", kn), ToKv($"{p}/v", v));
        var outputs = _g.NodeWithOutputs("GroupQueryAttention", $"{p}/GroupQueryAttention",
            [qn, kn, v, GraphNames.PastKey(l), GraphNames.PastValue(l), seqlensK, totalSeqLen, cos, sin],
            [$"{p}/GroupQueryAttention/output_0", GraphNames.PresentKey(l), GraphNames.PresentValue(l)],
            OnnxGraph.MicrosoftDomain,
            ("num_heads", (long)heads), ("kv_num_heads", (long)kvHeads), ("do_rotary", 1L), ("rotary_interleaved", 0L),
            ("scale", (float)(1.0 / Math.Sqrt(hd))), ("local_window_size", -1L));
        string attended = _kv == _io ? outputs[0] : _g.One("Cast", $"{p}/GroupQueryAttention/Cast", [outputs[0]], "", ("to", (long)_io));
        return Linear($"{p}/o_proj", "o_proj", attended, Qwen3Weights.Layer(l, Qwen3Weights.OProj));
    }

    string ToKv(string p, string input) => _g.One("Cast", $"{p}/Cast", [input], "", ("to", (long)_kv));

    /// <summary>Qwen3's per-head RMSNorm of q and k over head_dim, applied before rotary embedding.</summary>
    string HeadNorm(string p, string input, string weightName, int heads)
    {
        string perHead = _g.One("Reshape", $"{p}/Reshape_1", [input, _g.Int64Constant([0, 0, heads, _c.HeadDim])]);
        string normed = _g.One("SimplifiedLayerNormalization", $"{p}/SimplifiedLayerNormalization",
            [perHead, AddWeight(weightName)], "", ("axis", -1L), ("epsilon", (float)_c.RmsNormEps), ("stash_type", 1L));
        return _g.One("Reshape", $"{p}/Reshape_2", [normed, _g.Int64Constant([0, 0, (long)heads * _c.HeadDim])]);
    }

    /// <summary>
    /// RMSNorm of (input + residual); returns the normed value and the new residual. With no input to add
    /// (first layer) it is a plain SimplifiedLayerNormalization of the residual.
    /// </summary>
    (string Normed, string Residual) Norm(string name, string weightName, string? add, string residual)
    {
        string w = AddWeight(weightName);
        if (add is null)
            return (_g.One("SimplifiedLayerNormalization", name + "/SimplifiedLayerNormalization", [residual, w], "",
                ("axis", -1L), ("epsilon", (float)_c.RmsNormEps), ("stash_type", 1L)), residual);
        var outs = _g.NodeWithOutputs("SkipSimplifiedLayerNormalization", name + "/SkipLayerNorm", [add, residual, w],
            [name + "/SkipLayerNorm/output_0", "", "", name + "/SkipLayerNorm/output_3"], OnnxGraph.MicrosoftDomain,
            ("epsilon", (float)_c.RmsNormEps));
        return (outs[0], outs[3]);
    }

    string AddWeight(string name)
    {
        var info = _checkpoint.Info(name);
        _g.Initializer(_weights.Add(name, _checkpoint.ReadFloat32(name), info.Shape));
        return name;
    }

    /// <summary>
    /// A Linear layer y = x W^T over one or several Hugging Face weights [out_k, in] packed along out (one MatMul for
    /// q/k/v, one for gate/up): float MatMul on [in, sum(out_k)], or MatMulNBits on the quantized rows.
    /// </summary>
    string Linear(string name, string kind, string input, params string[] hfNames)
    {
        var infos = hfNames.Select(_checkpoint.Info).ToArray();
        int k = (int)infos[0].Shape[1];
        int n = infos.Sum(i => (int)i.Shape[0]);
        string baseName = name.TrimStart('/').Replace('/', '.');
        if (_bits == 0)
        {
            float[] weight = hfNames.Length == 1 ? Transposed(hfNames[0]) : PackColumns(hfNames);
            return MatMul(name, input, baseName + ".weight", weight, k, n);
        }
        var rows = new float[(long)n * k];
        long at = 0;
        foreach (var info in infos)
        {
            var w = _checkpoint.ReadFloat32(info.Name);
            w.CopyTo(rows, at);
            at += w.LongLength;
        }
        return MatMulNBits(name, kind, input, AddQuantized(baseName, rows, n, k));
    }

    string MatMul(string name, string input, string weightName, float[] weight, long rows, long cols, string? output = null)
    {
        _g.Initializer(_weights.Add(weightName, weight, rows, cols));
        return output is null
            ? _g.One("MatMul", name + "/MatMul", [input, weightName])
            : _g.NodeWithOutputs("MatMul", name + "/MatMul", [input, weightName], [output])[0];
    }

    sealed record QuantizedWeight(string Data, string Scales, QuantizedMatrix Matrix);

    QuantizedWeight AddQuantized(string baseName, float[] rows, int n, int k)
    {
        var q = BlockQuantizer.Quantize(rows, n, k, _bits, _options.BlockSize);
        string data = $"{baseName}.weight_Q{_bits}", scales = $"{baseName}.weight_scales";
        _g.Initializer(_weights.AddRaw(data, OnnxGraph.Uint8, q.Data, n, q.KBlocks, q.BlobSize));
        _g.Initializer(_weights.AddFloat32(scales, q.Scales, n, q.KBlocks));
        return new QuantizedWeight(data, scales, q with { Data = [], Scales = [] }); // the store has the bytes
    }

    string MatMulNBits(string name, string kind, string input, QuantizedWeight w, string? output = null)
    {
        var q = w.Matrix;
        (string, object)[] attributes =
        [
            ("K", (long)q.K), ("N", (long)q.N), ("bits", (long)q.Bits), ("block_size", (long)q.BlockSize),
            ("accuracy_level", (long)_options.AccuracyLevels.For(kind)),
        ];
        string nodeName = name + "/MatMulNBits";
        return output is null
            ? _g.One("MatMulNBits", nodeName, [input, w.Data, w.Scales], OnnxGraph.MicrosoftDomain, attributes)
            : _g.NodeWithOutputs("MatMulNBits", nodeName, [input, w.Data, w.Scales], [output], OnnxGraph.MicrosoftDomain, attributes)[0];
    }

    /// <summary>
    /// Token embeddings [batch, seq, hidden]. Tied models store the table once, in lm_head's layout: float graphs keep
    /// [hidden, vocab] (the MatMul's B) and gather columns; quantized graphs gather rows of the MatMulNBits table
    /// and dequantize them in the graph ((code - zero point) * scale), so the lookup reads a few hundred bytes.
    /// </summary>
    string EmbeddingLookup()
    {
        const string p = "/model/embed_tokens";
        int v = _c.VocabSize, hidden = _c.HiddenSize;
        var embedding = _checkpoint.ReadFloat32(Qwen3Weights.Embedding);
        if (_bits == 0)
        {
            if (!_c.TieWordEmbeddings)
            {
                _g.Initializer(_weights.Add(Qwen3Weights.Embedding, embedding, v, hidden));
                return _g.One("Gather", $"{p}/Gather", [Qwen3Weights.Embedding, GraphNames.InputIds]);
            }
            _g.Initializer(_weights.Add(TiedFloatTable, Transpose(embedding, v, hidden), hidden, v));
            string columns = _g.One("Gather", $"{p}/Gather", [TiedFloatTable, GraphNames.InputIds], "", ("axis", 1L)); // [hidden, batch, seq]
            return _g.One("Transpose", $"{p}/Transpose", [columns], "", ("perm", new long[] { 1, 2, 0 }));
        }

        var w = AddQuantized(_c.TieWordEmbeddings ? "lm_head" : "model.embed_tokens", embedding, v, hidden);
        if (_c.TieWordEmbeddings) _tiedQuantized = w;
        var q = w.Matrix;
        string codes = _g.One("Gather", $"{p}/Gather", [w.Data, GraphNames.InputIds]); // [batch, seq, k_blocks, blob]
        if (q.Bits == 4)
        {
            string low = _g.One("BitwiseAnd", $"{p}/low", [codes, ByteConstant(0x0F)]);
            string high = _g.One("BitShift", $"{p}/high", [codes, ByteConstant(4)], "", ("direction", "RIGHT"));
            string pairs = _g.One("Concat", $"{p}/pairs", [
                _g.One("Unsqueeze", $"{p}/low/Unsqueeze", [low, _g.Int64Constant([-1])]),
                _g.One("Unsqueeze", $"{p}/high/Unsqueeze", [high, _g.Int64Constant([-1])])], "", ("axis", -1L));
            codes = _g.One("Reshape", $"{p}/codes", [pairs, _g.Int64Constant([0, 0, q.KBlocks, q.BlockSize])]);
        }
        string values = _g.One("Cast", $"{p}/Cast", [codes], "", ("to", (long)OnnxGraph.Float));
        string centred = _g.One("Sub", $"{p}/Sub", [values, FloatConstant(q.ZeroPoint)]);
        string scales = _g.One("Gather", $"{p}/scales/Gather", [w.Scales, GraphNames.InputIds]); // [batch, seq, k_blocks]
        string scaled = _g.One("Mul", $"{p}/Mul", [centred, _g.One("Unsqueeze", $"{p}/scales/Unsqueeze", [scales, _g.Int64Constant([-1])])]);
        string flat = _g.One("Reshape", $"{p}/Reshape", [scaled, _g.Int64Constant([0, 0, (long)q.KBlocks * q.BlockSize])]);
        return q.KBlocks * q.BlockSize == hidden ? flat
            : _g.One("Slice", $"{p}/Slice", [flat, _g.Int64Constant([0]), _g.Int64Constant([hidden]), _g.Int64Constant([2])]);
    }

    const string TiedFloatTable = "lm_head.weight";

    string LmHead(string input, string? output)
    {
        if (_bits == 0)
        {
            if (_c.TieWordEmbeddings)
                return output is null
                    ? _g.One("MatMul", "/lm_head/MatMul", [input, TiedFloatTable])
                    : _g.NodeWithOutputs("MatMul", "/lm_head/MatMul", [input, TiedFloatTable], [output])[0];
            return MatMul("/lm_head", input, TiedFloatTable, Transposed(Qwen3Weights.LmHead), _c.HiddenSize, _c.VocabSize, output);
        }
        var w = _tiedQuantized ?? AddQuantized("lm_head", _checkpoint.ReadFloat32(Qwen3Weights.LmHead), _c.VocabSize, _c.HiddenSize);
        return MatMulNBits("/lm_head", "lm_head", input, w, output);
    }

    string ByteConstant(byte value) => SmallConstant($"/constants/UINT8/{value}", OnnxGraph.Uint8, [value]);
    string FloatConstant(float value) => SmallConstant($"/constants/FLOAT/{value}", OnnxGraph.Float, BitConverter.GetBytes(value));

    string SmallConstant(string name, int type, byte[] bytes)
    {
        if (_g.Proto.Initializer.Any(t => t.Name == name)) return name;
        _g.Initializer(new TensorProto { Name = name, DataType = type, RawData = Google.Protobuf.ByteString.CopyFrom(bytes) });
        return name;
    }

    /// <summary>HF Linear weights are [out, in]; ONNX MatMul wants [in, out].</summary>
    float[] Transposed(string name)
    {
        var info = _checkpoint.Info(name);
        return Transpose(_checkpoint.ReadFloat32(name), (int)info.Shape[0], (int)info.Shape[1]);
    }

    /// <summary>Transposes several [out_k, in] weights into one [in, sum(out_k)] matrix (one MatMul instead of several).</summary>
    float[] PackColumns(params string[] names)
    {
        var infos = names.Select(_checkpoint.Info).ToArray();
        int inDim = (int)infos[0].Shape[1];
        int total = infos.Sum(i => (int)i.Shape[0]);
        var packed = new float[(long)inDim * total];
        int column = 0;
        foreach (var info in infos)
        {
            int outDim = (int)info.Shape[0];
            TransposeInto(_checkpoint.ReadFloat32(info.Name), outDim, inDim, packed, total, column);
            column += outDim;
        }
        return packed;
    }

    static float[] Transpose(float[] src, int rows, int cols)
    {
        var dst = new float[src.LongLength];
        TransposeInto(src, rows, cols, dst, rows, 0);
        return dst;
    }

    /// <summary>dst[c, column + r] = src[r, c], blocked for cache locality (the embedding transpose is ~600 MB for 0.6B).</summary>
    static void TransposeInto(float[] src, int rows, int cols, float[] dst, int dstCols, int column)
    {
        const int block = 64;
        Parallel.For(0, (rows + block - 1) / block, rb =>
        {
            int r0 = rb * block, r1 = Math.Min(rows, r0 + block);
            for (int c0 = 0; c0 < cols; c0 += block)
            {
                int c1 = Math.Min(cols, c0 + block);
                for (int r = r0; r < r1; r++)
                    for (int c = c0; c < c1; c++)
                        dst[(long)c * dstCols + column + r] = src[(long)r * cols + c];
            }
        });
    }
}
