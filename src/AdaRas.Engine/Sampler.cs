using AdaRas.Model;

namespace AdaRas.Engine;

/// <summary>
/// Picks the next token from logits: argmax when greedy, otherwise temperature, top-k and top-p filtering
/// (in that order, as Hugging Face applies them) and a draw from a seeded generator, so a seed reproduces a run.
/// </summary>
internal sealed class Sampler
{
    readonly GeneratorParams _p;
    readonly Random _random;
    int[] _order = [];
    float[] _probs = [];
    float[] _sortKeys = [];

    public Sampler(GeneratorParams p)
    {
        p.Validate();
        _p = p;
        _random = new Random(p.Seed);
    }

    /// <exception cref="InvalidLogitsException">A logit is NaN or infinite, or all are equal (argmax would pick token 0 silently).</exception>
    public int Next(ReadOnlySpan<float> logits, int position = -1)
    {
        InvalidLogitsException.ThrowIfInvalid(logits, position);
        if (_p.IsGreedy) return ArgMax(logits);
        int n = logits.Length;
        if (_order.Length != n) { _order = new int[n]; _probs = new float[n]; _sortKeys = new float[n]; }

        // Softmax with temperature, stable against large logits.
        float max = float.NegativeInfinity;
        foreach (var v in logits) if (v > max) max = v;
        double inv = 1.0 / _p.Temperature;
        for (int i = 0; i < n; i++)
        {
            _probs[i] = (float)Math.Exp((logits[i] - max) * inv);
            _sortKeys[i] = -_probs[i];
            _order[i] = i;
        }

        // Sort candidates by probability, descending, to apply top-k and top-p (primitive keys: fast for 150k ids).
        Array.Sort(_sortKeys, _order);
        int keep = _p.TopK > 0 ? Math.Min(_p.TopK, n) : n;
        double total = 0;
        for (int i = 0; i < keep; i++) total += _probs[_order[i]];
        if (_p.TopP < 1.0)
        {
            double cumulative = 0;
            for (int i = 0; i < keep; i++)
            {
                cumulative += _probs[_order[i]] / total;
                if (cumulative >= _p.TopP) { keep = i + 1; break; }
            }
            total = 0;
            for (int i = 0; i < keep; i++) total += _probs[_order[i]];
        }
        double u = _random.NextDouble() * total;
        for (int i = 0; i < keep; i++)
        {
            u -= _probs[_order[i]];
            if (u <= 0) return _order[i];
        }
        return _order[keep - 1];
    }

    /// <summary>Index of the largest value; the lowest index wins ties (as torch.argmax does).</summary>
    public static int ArgMax(ReadOnlySpan<float> values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++) if (values[i] > values[best]) best = i;
        return best;
    }
}
