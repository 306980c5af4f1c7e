using System.Text.Json;
using System.Text.Json.Nodes;
using AdaRas.Model;

namespace AdaRas.Probing.FeatureSelection;

/// <summary>One selected neuron: its global id, place in the model, F score and rank (1 = highest score).</summary>
internal sealed record SelectedFeature(int Rank, int Id, int Layer, int Index, double FScore);

/// <summary>
/// The gate's input neurons: the top N by ANOVA F-score over token-mean-pooled training questions
/// (docs/ARCHITECTURE.md, method step 5), for one model. Saved as <c>features.json</c>:
/// <code>
/// { "kind": "anova-f-top", "model_id", "num_layers", "intermediate_size", "source", "questions", "correct",
///   "incorrect", "top": N, "feature_ids": [ascending global ids],
///   "features": [{ "rank", "id", "layer", "index", "f_score" }, ...] (rank order) }
/// </code>
/// An F score of +infinity (a perfect separator) is written as the string "Infinity". Only
/// <c>feature_ids</c> and the model fields are read back; the rest documents the selection.
/// </summary>
internal sealed record SelectedFeatures(ModelShape Model, IReadOnlyList<SelectedFeature> Features, string? Source,
    int Questions, int Correct, int Incorrect)
{
    public const string Kind = "anova-f-top";

    /// <summary>Global neuron ids, ascending (the order the graph gathers them in).</summary>
    public int[] Ids => Features.Select(f => f.Id).Order().ToArray();

    /// <summary>Picks the top <paramref name="top"/> of <paramref name="scores"/> (one per neuron of the model).</summary>
    public static SelectedFeatures FromScores(ModelShape model, IReadOnlyList<double> scores, int top, string? source,
        int correct, int incorrect)
    {
        if (scores.Count != model.NeuronCount)
            throw new ArgumentException($"{scores.Count} scores for a model with {model.NeuronCount} neurons");
        var array = scores.ToArray();
        var chosen = AnovaFScore.SelectTop(array, top).OrderByDescending(id => array[id]).ThenBy(id => id).ToArray();
        var features = chosen.Select((id, k) =>
        {
            var (layer, index) = model.Locate(id);
            return new SelectedFeature(k + 1, id, layer, index, array[id]);
        }).ToList();
        return new SelectedFeatures(model, features, source, correct + incorrect, correct, incorrect);
    }

    static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    public void Save(string path)
    {
        var features = new JsonArray();
        foreach (var f in Features)
            features.Add(new JsonObject
            {
                ["rank"] = f.Rank, ["id"] = f.Id, ["layer"] = f.Layer, ["index"] = f.Index,
                ["f_score"] = double.IsPositiveInfinity(f.FScore) ? JsonValue.Create("Infinity") : JsonValue.Create(f.FScore),
            });
        var root = new JsonObject
        {
            ["kind"] = Kind,
            ["model_id"] = Model.ModelId ?? throw new InvalidOperationException("a feature file records the model identity; select on a ModelShape with a ModelId"),
            ["num_layers"] = Model.Layers,
            ["intermediate_size"] = Model.IntermediateSize,
            ["source"] = Source,
            ["questions"] = Questions,
            ["correct"] = Correct,
            ["incorrect"] = Incorrect,
            ["top"] = Features.Count,
            ["feature_ids"] = new JsonArray(Ids.Select(i => (JsonNode)i).ToArray()),
            ["features"] = features,
        };
        AtomicFile.WriteAllText(path, root.ToJsonString(Json) + "\n");
    }

    /// <summary>Reads a feature file; with <paramref name="expectedModel"/>, one made on another model is refused.</summary>
    public static SelectedFeatures Load(string path, ModelShape? expectedModel = null)
    {
        if (!File.Exists(path)) throw new ModelFormatException(path, "feature file not found");
        JsonObject root;
        try
        {
            root = JsonNode.Parse(File.ReadAllText(path)) as JsonObject
                   ?? throw new ModelFormatException(path, "not a JSON object");
        }
        catch (JsonException e) { throw new ModelFormatException(path, $"not valid JSON: {e.Message}", inner: e); }
        if (Text(path, root, "kind") != Kind) throw new ModelFormatException(path, $"kind is '{root["kind"]}', expected '{Kind}'");
        ModelShape model;
        try { model = new ModelShape(Integer(path, root, "num_layers"), Integer(path, root, "intermediate_size"), Text(path, root, "model_id")); }
        catch (ArgumentException e) { throw new ModelFormatException(path, e.Message, inner: e); }
        if (expectedModel is not null && model != expectedModel)
            throw new ModelFormatException(path, $"these features were selected on model {model}, not on the model in use {expectedModel}");
        if (root["feature_ids"] is not JsonArray list || list.Count == 0)
            throw new ModelFormatException(path, "field 'feature_ids' is missing or empty");
        var ids = new int[list.Count];
        for (int k = 0; k < ids.Length; k++)
            ids[k] = list[k] is JsonValue v && v.TryGetValue<int>(out var id)
                ? id : throw new ModelFormatException(path, $"feature_ids[{k}] is not an integer");
        try { model.ValidateNeuronIds(ids, requireAscending: true, "feature_ids"); }
        catch (ArgumentException e) { throw new ModelFormatException(path, e.Message, inner: e); }

        // Scores and ranks are informative; keep those present, in ascending-id order when absent.
        var scores = new Dictionary<int, double>();
        if (root["features"] is JsonArray described)
            foreach (var node in described)
                if (node is JsonObject o && o["id"] is JsonValue iv && iv.TryGetValue<int>(out var fid))
                    scores[fid] = o["f_score"] is JsonValue sv && sv.TryGetValue<double>(out var s) ? s
                        : o["f_score"] is JsonValue tv && tv.TryGetValue<string>(out var t) && t == "Infinity" ? double.PositiveInfinity
                        : double.NaN;
        var features = ids.Select(id => (Id: id, Score: scores.GetValueOrDefault(id, double.NaN)))
            .OrderByDescending(f => double.IsNaN(f.Score) ? double.NegativeInfinity : f.Score).ThenBy(f => f.Id)
            .Select((f, k) => { var (l, i) = model.Locate(f.Id); return new SelectedFeature(k + 1, f.Id, l, i, f.Score); })
            .ToList();
        int correct = root["correct"] is JsonValue c && c.TryGetValue<int>(out var cv) ? cv : 0;
        int incorrect = root["incorrect"] is JsonValue ic && ic.TryGetValue<int>(out var icv) ? icv : 0;
        string? source = root["source"] is JsonValue src && src.TryGetValue<string>(out var sText) ? sText : null;
        return new SelectedFeatures(model, features, source, correct + incorrect, correct, incorrect);
    }

    static string Text(string path, JsonObject o, string field) =>
        o[field] is JsonValue v && v.TryGetValue<string>(out var s) && s.Length > 0
            ? s : throw new ModelFormatException(path, $"field '{field}' is missing or not a non-empty string");

    static int Integer(string path, JsonObject o, string field) =>
        o[field] is JsonValue v && v.TryGetValue<int>(out var i)
            ? i : throw new ModelFormatException(path, $"field '{field}' is missing or not an integer");
}
