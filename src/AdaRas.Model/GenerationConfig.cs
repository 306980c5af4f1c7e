using System.Text.Json;
using System.Text.Json.Nodes;

namespace AdaRas.Model;

/// <summary>The Hugging Face <c>generation_config.json</c>: stop ids and default sampling values.</summary>
internal sealed record GenerationConfig
{
    public int? BosTokenId { get; init; }
    public int[] EosTokenIds { get; init; } = [];
    public int? PadTokenId { get; init; }
    public bool DoSample { get; init; }
    public double Temperature { get; init; } = 1.0;
    public int TopK { get; init; } = 50;
    public double TopP { get; init; } = 1.0;

    public static GenerationConfig Load(string path)
    {
        if (!File.Exists(path)) throw new ModelFormatException(path, "file not found");
        InputFiles.RequireRegularFile(path, "generation_config.json");
        JsonObject o;
        try
        {
            o = JsonNode.Parse(File.ReadAllText(path), documentOptions: new JsonDocumentOptions { AllowDuplicateProperties = false }) as JsonObject
                ?? throw new ModelFormatException(path, "not a JSON object");
        }
        catch (JsonException e)
        {
            throw new ModelFormatException(path, $"cannot parse: {e.Message}", inner: e);
        }
        // Each field is read on its own so that a value of the wrong type is reported by name.
        T? Field<T>(string key, string expected, Func<JsonNode, T> read)
        {
            var node = o[key];
            if (node is null) return default;
            try { return read(node); }
            catch (Exception e) when (e is FormatException or InvalidOperationException)
            { throw new ModelFormatException(path, $"field '{key}' must be {expected}, got {node.ToJsonString(Qwen3Config.MessageJson)}", inner: e); }
        }
        return new GenerationConfig
        {
            BosTokenId = Field<int?>("bos_token_id", "an integer or null", n => n.GetValue<int>()),
            EosTokenIds = Field("eos_token_id", "an integer or a list of integers", Qwen3Config.ReadIds) ?? [],
            PadTokenId = Field<int?>("pad_token_id", "an integer or null", n => n.GetValue<int>()),
            DoSample = Field<bool?>("do_sample", "true or false", n => n.GetValue<bool>()) ?? false,
            Temperature = Field<double?>("temperature", "a number", n => n.GetValue<double>()) ?? 1.0,
            TopK = Field<int?>("top_k", "an integer", n => n.GetValue<int>()) ?? 50,
            TopP = Field<double?>("top_p", "a number", n => n.GetValue<double>()) ?? 1.0,
        };
    }

    public JsonObject ToJson() => new()
    {
        ["bos_token_id"] = BosTokenId,
        ["do_sample"] = DoSample,
        ["eos_token_id"] = EosTokenIds.Length == 1 ? EosTokenIds[0] : new JsonArray(EosTokenIds.Select(x => (JsonNode)x).ToArray()),
        ["pad_token_id"] = PadTokenId,
        ["temperature"] = Temperature,
        ["top_k"] = TopK,
        ["top_p"] = TopP,
        ["transformers_version"] = "4.51.0",
    };
}
