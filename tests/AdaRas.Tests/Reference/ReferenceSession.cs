using static AdaRas.Tests.Reference.ReferenceMath;

namespace AdaRas.Tests.Reference;

/// <summary>
/// One sequence being decoded by a <see cref="ReferenceModel"/>: holds the KV cache (keys after k_norm and RoPE,
/// values as projected), so a prefill followed by single-token calls gives the same logits as one long call.
/// </summary>
internal sealed class ReferenceSession
{
    readonly ReferenceModel _model;
    // Per layer, per cached position: [kvHeads * headDim].
    readonly List<double[]>[] _keys;
    readonly List<double[]>[] _values;

    internal ReferenceSession(ReferenceModel model)
    {
        _model = model;
        _keys = Enumerable.Range(0, model.Config.NumHiddenLayers).Select(_ => new List<double[]>()).ToArray();
        _values = Enumerable.Range(0, model.Config.NumHiddenLayers).Select(_ => new List<double[]>()).ToArray();
    }

    /// <summary>Tokens cached so far (the absolute position of the next token).</summary>
    public int Length => _keys[0].Count;

    /// <summary>Pre-steering MLP intermediate of the last <see cref="Forward"/> call: [layer][position in call][intermediate].</summary>
    public float[][][] LastMlpActivations { get; private set; } = [];

    /// <summary>Runs <paramref name="tokens"/> after whatever is cached; returns logits [tokens.Length][vocab].</summary>
    public float[][] Forward(ReadOnlySpan<int> tokens, ReferenceSteering? steering = null)
    {
        var c = _model.Config;
        int n = tokens.Length, start = Length;
        if (n == 0) throw new ArgumentException("a forward call needs at least one token");
        int hidden = c.HiddenSize, inter = c.IntermediateSize, d = c.HeadDim;
        int heads = c.NumAttentionHeads, kvHeads = c.NumKeyValueHeads;
        int firstSteered = steering?.FirstSteered(n) ?? n;

        // Check everything before touching the cache, so a bad call leaves the session as it was.
        var interventions = new (float[]? Scale, float[]? Shift, float[]? Residual)[c.NumHiddenLayers];
        if (steering is not null)
        {
            foreach (var layer in steering.Scale.Keys.Concat(steering.Shift.Keys).Concat(steering.Residual.Keys))
                if (layer < 0 || layer >= c.NumHiddenLayers)
                    throw new ArgumentException($"steering names layer {layer}, the model has {c.NumHiddenLayers}");
            for (int l = 0; l < c.NumHiddenLayers; l++)
                interventions[l] = (Checked(steering.Scale, l, inter, "scale"), Checked(steering.Shift, l, inter, "shift"),
                    Checked(steering.Residual, l, hidden, "residual"));
        }
        var x = new double[n][];
        for (int t = 0; t < n; t++)
        {
            int id = tokens[t];
            if (id < 0 || id >= c.VocabSize) throw new ArgumentOutOfRangeException(nameof(tokens), $"token {id} outside vocabulary of {c.VocabSize}");
            x[t] = new double[hidden];
            for (int i = 0; i < hidden; i++) x[t][i] = _model.Embedding[(long)id * hidden + i];
        }

        var activations = new float[c.NumHiddenLayers][][];
        for (int l = 0; l < c.NumHiddenLayers; l++)
        {
            var w = _model.Layers[l];

            // Attention: project, per-head q/k RMSNorm (before RoPE), RoPE at absolute positions, cache.
            var queries = new double[n][];
            for (int t = 0; t < n; t++)
            {
                var h = RmsNorm(x[t], w.InputNorm, c.RmsNormEps);
                var q = Linear(w.Q, heads * d, hidden, h);
                var k = Linear(w.K, kvHeads * d, hidden, h);
                var v = Linear(w.V, kvHeads * d, hidden, h);
                for (int head = 0; head < heads; head++) NormalizeAndRotate(q.AsSpan(head * d, d), w.QNorm, start + t);
                for (int head = 0; head < kvHeads; head++) NormalizeAndRotate(k.AsSpan(head * d, d), w.KNorm, start + t);
                queries[t] = q;
                _keys[l].Add(k);
                _values[l].Add(v);
            }
            for (int t = 0; t < n; t++)
            {
                int visible = start + t + 1; // causal: keys at positions 0..start+t
                var attended = new double[heads * d];
                for (int head = 0; head < heads; head++)
                {
                    int kv = KvHeadOf(head, heads, kvHeads);
                    var q = queries[t].AsSpan(head * d, d);
                    var scores = new double[visible];
                    for (int j = 0; j < visible; j++)
                    {
                        var k = _keys[l][j].AsSpan(kv * d, d);
                        double dot = 0;
                        for (int i = 0; i < d; i++) dot += q[i] * k[i];
                        scores[j] = dot / Math.Sqrt(d);
                    }
                    Softmax(scores);
                    for (int j = 0; j < visible; j++)
                    {
                        var v = _values[l][j].AsSpan(kv * d, d);
                        for (int i = 0; i < d; i++) attended[head * d + i] += scores[j] * v[i];
                    }
                }
                var o = Linear(w.O, hidden, heads * d, attended);
                for (int i = 0; i < hidden; i++) x[t][i] += o[i];
            }

            // MLP: a = silu(gate(h)) * up(h) is the activation site; steering edits it before down_proj.
            activations[l] = new float[n][];
            var (scale, shift, residual) = interventions[l];
            for (int t = 0; t < n; t++)
            {
                var h = RmsNorm(x[t], w.PostAttentionNorm, c.RmsNormEps);
                var gate = Linear(w.Gate, inter, hidden, h);
                var up = Linear(w.Up, inter, hidden, h);
                var a = new double[inter];
                for (int i = 0; i < inter; i++) a[i] = Silu(gate[i]) * up[i];
                activations[l][t] = a.Select(v => (float)v).ToArray();

                bool steered = t >= firstSteered;
                if (steered)
                    for (int i = 0; i < inter; i++)
                        a[i] = a[i] * (scale?[i] ?? 1f) + (shift?[i] ?? 0f);
                var down = Linear(w.Down, hidden, inter, a);
                for (int i = 0; i < hidden; i++) x[t][i] += down[i];
                if (steered && residual is not null)
                    for (int i = 0; i < hidden; i++) x[t][i] += residual[i];
            }
        }
        LastMlpActivations = activations;

        var logits = new float[n][];
        for (int t = 0; t < n; t++)
        {
            var h = RmsNorm(x[t], _model.FinalNorm, c.RmsNormEps);
            logits[t] = Linear(_model.LmHead, c.VocabSize, hidden, h).Select(v => (float)v).ToArray();
        }
        return logits;

        void NormalizeAndRotate(Span<double> head, float[] normWeight, int position)
        {
            RmsNorm(head, normWeight, c.RmsNormEps).CopyTo(head);
            Rope(head, position, c.RopeTheta);
        }
    }

    static float[]? Checked(IReadOnlyDictionary<int, float[]> perLayer, int layer, int length, string what)
    {
        if (!perLayer.TryGetValue(layer, out var values)) return null;
        if (values.Length != length) throw new ArgumentException($"steering {what} for layer {layer} has {values.Length} values, expected {length}");
        return values;
    }
}
