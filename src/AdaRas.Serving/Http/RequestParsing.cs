using System.Text.Json;
using AdaRas.Engine;
using AdaRas.Serving.Steering;

namespace AdaRas.Serving.Http;

/// <summary>The fields chat and completion requests share: sampling, limits, stop strings, steering, streaming.</summary>
sealed class CommonRequest
{
    public int? MaxTokens;
    public double Temperature;
    public double TopP = 1.0;
    public int TopK;
    public int Seed;
    public List<string> Stop = [];
    public bool Stream, IncludeUsage, IgnoreEos;
    public SteeringRequest? Steering;

    /// <summary>Reads one field this class knows; false when the field is the endpoint's own (or unknown).</summary>
    // Long on purpose: one case per OpenAI request field, each with its own validation, read like the API reference.
    public bool Read(JsonProperty p, ModelHost host)
    {
        var v = p.Value;
        switch (p.Name)
        {
            case "model":
                if (Json.IsNull(v)) return true;
                var model = Json.String(v, "model");
                if (model != host.ModelId)
                    throw new RequestException(404, $"the model '{model}' does not exist; this server serves '{host.ModelId}'", "invalid_request_error", "model", "model_not_found");
                return true;
            case "max_tokens" or "max_completion_tokens":
                if (Json.IsNull(v)) return true;
                MaxTokens = Json.Int(v, p.Name);
                host.CheckMaxTokens(MaxTokens.Value, p.Name);
                return true;
            case "temperature":
                if (Json.IsNull(v)) return true;
                Temperature = Json.Number(v, p.Name);
                if (!(Temperature >= 0 && Temperature <= 2)) throw RequestException.Invalid($"temperature must be in [0, 2], got {Temperature}", p.Name);
                return true;
            case "top_p":
                if (Json.IsNull(v)) return true;
                TopP = Json.Number(v, p.Name);
                if (!(TopP > 0 && TopP <= 1)) throw RequestException.Invalid($"top_p must be in (0, 1], got {TopP}", p.Name);
                return true;
            case "top_k":
                if (Json.IsNull(v)) return true;
                TopK = Json.Int(v, p.Name);
                if (TopK == -1) TopK = 0; // vLLM's "off"
                if (TopK < 0) throw RequestException.Invalid($"top_k must be >= 0 (or -1 for off), got {TopK}", p.Name);
                return true;
            case "seed":
                if (Json.IsNull(v)) return true;
                Seed = Json.Int(v, p.Name);
                return true;
            case "stop":
                if (Json.IsNull(v)) return true;
                if (v.ValueKind == JsonValueKind.String) Stop = [v.GetString()!];
                else if (v.ValueKind == JsonValueKind.Array) Stop = v.EnumerateArray().Select((s, i) => Json.String(s, $"stop[{i}]")).ToList();
                else throw RequestException.Invalid("stop must be a string or an array of strings", p.Name);
                if (Stop.Count > 16) throw RequestException.Invalid($"stop holds {Stop.Count} strings; at most 16", p.Name);
                if (Stop.Any(s => s.Length == 0 || s.Length > 256)) throw RequestException.Invalid("each stop string must be 1 to 256 characters", p.Name);
                return true;
            case "stream":
                if (Json.IsNull(v)) return true;
                Stream = Json.Bool(v, p.Name);
                return true;
            case "stream_options":
                if (Json.IsNull(v)) return true;
                if (v.ValueKind != JsonValueKind.Object) throw RequestException.Invalid("stream_options must be an object", p.Name);
                if (v.TryGetProperty("include_usage", out var u)) IncludeUsage = Json.Bool(u, "stream_options.include_usage");
                return true;
            case "ignore_eos":
                if (Json.IsNull(v)) return true;
                IgnoreEos = Json.Bool(v, p.Name);
                return true;
            case "n":
                if (Json.IsNull(v)) return true;
                if (Json.Int(v, "n") != 1) throw RequestException.Invalid("only n = 1 is supported", "n");
                return true;
            case "steering":
                if (Json.IsNull(v)) return true;
                Steering = SteeringRequest.Parse(v);
                return true;
            case "tools" or "functions" or "tool_choice" or "response_format" or "logit_bias" or "suffix" or "best_of":
                if (Json.IsNull(v) || (p.Name == "best_of" && v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int b) && b == 1)) return true;
                throw RequestException.Invalid($"{p.Name} is not supported by this server", p.Name);
            case "presence_penalty" or "frequency_penalty" or "repetition_penalty":
                if (Json.IsNull(v) || (v.ValueKind == JsonValueKind.Number && v.GetDouble() == (p.Name == "repetition_penalty" ? 1 : 0))) return true;
                throw RequestException.Invalid($"{p.Name} is not supported by this server", p.Name);
            default:
                return false;
        }
    }

    public GeneratorParams Parameters(int defaultMaxTokens) => new()
    {
        MaxNewTokens = MaxTokens ?? defaultMaxTokens,
        Temperature = Temperature,
        DoSample = Temperature > 0,
        TopK = TopK,
        TopP = TopP,
        Seed = Seed,
        StopTokenIds = IgnoreEos ? [] : null, // null: the model's end-of-sequence ids
    };

    /// <summary>Parses the body: malformed JSON and a non-object are 400s (never an exception that escapes).</summary>
    public static JsonDocument ParseBody(ReadOnlyMemory<byte> body)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 32 }); }
        catch (JsonException e) { throw RequestException.Invalid($"the request body is not valid JSON: {e.Message}"); }
        if (doc.RootElement.ValueKind != JsonValueKind.Object)
        {
            doc.Dispose();
            throw RequestException.Invalid("the request body must be a JSON object");
        }
        return doc;
    }
}
