using AdaRas.Model;
using AdaRas.Engine;

namespace AdaRas.Probing.Features;

/// <summary>
/// What the gate and the F-score see of a question: its raw text (no chat template, as in the paper) run once
/// through the model, with the MLP activations read from the graph's taps. One pass gives both the token-mean
/// pooled vector over every neuron (from the sum tap) and the per-token values at chosen neurons (the feature tap).
/// </summary>
internal sealed class QuestionFeatures
{
    readonly AdaRas.Engine.LanguageModel _model;
    readonly long[] _featureIds;

    public ModelShape Shape { get; }
    /// <summary>The gathered neuron ids, ascending: the column order of <see cref="Result.Tokens"/>.</summary>
    public IReadOnlyList<int> FeatureIds => Array.ConvertAll(_featureIds, i => (int)i);

    /// <param name="featureIds">Global neuron ids (layer * I + index) to gather per token; empty for pooled vectors only.</param>
    public QuestionFeatures(AdaRas.Engine.LanguageModel model, IReadOnlyCollection<int>? featureIds = null)
    {
        _model = model;
        Shape = ModelShape.FromManifest(model.Manifest);
        var ids = (featureIds ?? []).Select(i => (int)i).ToArray();
        Shape.ValidateNeuronIds(ids, requireAscending: true, "feature ids");
        _featureIds = ids.Select(i => (long)i).ToArray();
    }

    /// <summary>
    /// Activations of one question: token-mean over all neurons (layers x I, layer-major), the last token's
    /// activations over all neurons (what the L1 probe reads), and the per-token matrix at the feature ids.
    /// </summary>
    public sealed record Result(float[] MeanPooled, float[] LastToken, ActivationMatrix? Tokens, int TokenCount);

    /// <summary>Runs <paramref name="question"/> (raw text, no chat template) and reads the taps.</summary>
    public Result Extract(string question)
    {
        var ids = _model.Tokenizer.Encode(question);
        if (ids.Length == 0) throw new ArgumentException("the question is empty after tokenization");
        using var generator = new Generator(_model, new GeneratorParams { MaxNewTokens = 0, MaxLength = ids.Length });
        if (_featureIds.Length > 0) generator.SetFeatureIndices(_featureIds);
        generator.AppendTokens(ids, LogitsScope.None);

        var pooled = generator.MlpSum.ToArray();
        var last = generator.MlpLast.ToArray();
        float inverse = 1f / generator.MlpSumCount;
        for (int i = 0; i < pooled.Length; i++) pooled[i] *= inverse;
        ActivationMatrix? tokens = _featureIds.Length > 0
            ? new ActivationMatrix(generator.Features.ToArray(), ids.Length, _featureIds.Length)
            : null;
        var check = new ActivationMatrix(pooled, 1, pooled.Length);
        check.EnsureFinite($"question activations ({ids.Length} tokens)");
        new ActivationMatrix(last, 1, last.Length).EnsureFinite($"last-token activations ({ids.Length} tokens)");
        tokens?.EnsureFinite($"question features ({ids.Length} tokens)");
        return new Result(pooled, last, tokens, ids.Length);
    }
}
