using System.Text.Json;
using System.Text.Json.Nodes;

namespace AdaRas.Model;

/// <summary>The Hugging Face <c>generation_config.json</c>: stop ids and default sampling values.</summary>
public sealed record GenerationConfig
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
        try
        {
            var o = JsonNode.Parse(File.ReadAllText(path)) as JsonObject
                ?? throw new ModelFormatException(path, "not a JSON object");
            return new GenerationConfig
            {
                BosTokenId = o["bos_token_id"]?.GetValue<int>(),
                EosTokenIds = Qwen3Config.ReadIds(o["eos_token_id"]),
                PadTokenId = o["pad_token_id"] is JsonValue p ? p.GetValue<int>() : null,
                DoSample = o["do_sample"]?.GetValue<bool>() ?? false,
                Temperature = o["temperature"]?.GetValue<double>() ?? 1.0,
                TopK = o["top_k"]?.GetValue<int>() ?? 50,
                TopP = o["top_p"]?.GetValue<double>() ?? 1.0,
            };
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException)
        {
            throw new ModelFormatException(path, $"cannot parse: {e.Message}", inner: e);
        }
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
