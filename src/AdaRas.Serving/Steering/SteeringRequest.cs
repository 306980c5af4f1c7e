using System.Text.Json;

namespace AdaRas.Serving.Steering;

/// <summary>Whether the gate decides: off (steer always), on (the gate file's threshold) or a threshold of its own.</summary>
public readonly record struct GateSetting(bool Enabled, double? Threshold)
{
    /// <summary>No gate: steer every request that asks for steering.</summary>
    public static GateSetting Off => new(false, null);
    /// <summary>The pattern's gate decides, at its file's threshold.</summary>
    public static GateSetting On => new(true, null);
    /// <summary>The pattern's gate decides, at this threshold (steer when its failure probability is at least this).</summary>
    public static GateSetting At(double threshold) => new(true, threshold);
}

/// <summary>
/// One request's steering, as clients send it (the <c>steering</c> object of a request body, or
/// <see cref="ChatClient.AdaRasChatOptions.WithSteering"/>): a pattern the server was started with, by name, and
/// optionally K, alpha, method, positions and the gate. Null fields take the defaults of `adaras generate --steer`.
/// </summary>
public sealed record SteeringRequest(string Pattern)
{
    /// <summary>Steer the pattern's first K neurons (default 50).</summary>
    public int? Neurons { get; init; }
    /// <summary>Steering strength (default 0.3).</summary>
    public float? Alpha { get; init; }
    /// <summary>steering_add (default), linear_blend or softplus_add.</summary>
    public string? Method { get; init; }
    /// <summary>last (default) or all.</summary>
    public string? Positions { get; init; }
    /// <summary>Whether the gate decides (default off: steer always).</summary>
    public GateSetting Gate { get; init; } = GateSetting.Off;

    /// <summary>Parses the steering object's JSON text (e.g. `adaras serve --default-steering '{"pattern":"gsm8k"}'`).</summary>
    public static SteeringRequest FromJson(string json)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            return Parse(doc.RootElement);
        }
        catch (JsonException e) { throw new ArgumentException($"the steering object is not valid JSON: {e.Message}"); }
        catch (RequestException e) { throw new ArgumentException(e.Message); }
    }

    /// <summary>Reads the JSON object clients send; a field of the wrong type or value is a <see cref="RequestException"/> naming it.</summary>
    internal static SteeringRequest Parse(JsonElement e, string param = "steering")
    {
        if (e.ValueKind != JsonValueKind.Object) throw RequestException.Invalid($"{param} must be an object", param);
        string? pattern = null;
        int? neurons = null;
        float? alpha = null;
        string? method = null, positions = null;
        var gate = GateSetting.Off;
        foreach (var p in e.EnumerateObject())
        {
            string name = $"{param}.{p.Name}";
            switch (p.Name)
            {
                case "pattern": pattern = Json.String(p.Value, name); break;
                case "neurons": neurons = Json.Int(p.Value, name); break;
                case "alpha":
                    double a = Json.Number(p.Value, name);
                    if (!double.IsFinite(a) || !float.IsFinite((float)a)) throw RequestException.Invalid($"{name} must be a finite number", name);
                    alpha = (float)a;
                    break;
                case "method": method = Json.String(p.Value, name); break;
                case "positions": positions = Json.String(p.Value, name); break;
                case "gate": gate = ParseGate(p.Value, name); break;
                default: throw RequestException.Invalid($"unknown field {name} (expected pattern, neurons, alpha, method, positions, gate)", name);
            }
        }
        if (pattern is null) throw RequestException.Invalid($"{param}.pattern is required", $"{param}.pattern");
        return new SteeringRequest(pattern) { Neurons = neurons, Alpha = alpha, Method = method, Positions = positions, Gate = gate };
    }

    static GateSetting ParseGate(JsonElement v, string name)
    {
        switch (v.ValueKind)
        {
            case JsonValueKind.String when v.GetString() == "off": return GateSetting.Off;
            case JsonValueKind.String when v.GetString() == "on": return GateSetting.On;
            case JsonValueKind.False: return GateSetting.Off;
            case JsonValueKind.True: return GateSetting.On;
            case JsonValueKind.Number:
                double t = Json.Number(v, name);
                if (!(t >= 0 && t <= 1)) throw RequestException.Invalid($"{name} threshold must be a probability in [0, 1], got {t}", name);
                return GateSetting.At(t);
            default: throw RequestException.Invalid($"{name} must be \"off\", \"on\" or a threshold in [0, 1]", name);
        }
    }
}

/// <summary>What was done for a request: the gate's verdict (when it ran) and whether the answer was steered.</summary>
public sealed record SteeringOutcome(string Pattern, bool Steered, double? GateProbability, double? GateThreshold, string Description);
